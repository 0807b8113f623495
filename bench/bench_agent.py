"""The agent as deployed: CPU as a percentage of one core and peak RSS, sampling every second.

Run: make bench  (or .venv/bin/python bench/bench_agent.py [--seconds 60] [--interval 1])

The agent runs as the README tells users to install it, against the default stack
(`mirror-stage up --no-agent`: authorization on, default settings): its own identity from
`mirror-stage agent enroll`, signed commands on (the commands service's signing key, its own
durable consumer on commands.dispatch.<host>), its disk buffer, a sample every --interval s.
Targets (issue 19): under 0.5 % of one core and under 35 MiB. For comparison on this machine
at 1 s: node_exporter 1.1 % and 20 MiB, Netdata 0.96 % and 67 MiB, Glances 1.8 % and 49 MiB.
"""

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from stack_up import RunningStack, admin, mirror_stage_up

from mirror_schema import streams, subjects
from mirror_schema.nats_credentials import credential_options

WARM_UP_SECONDS = 5.0
HOST = "bench-agent"


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def enroll(stack: RunningStack, data_dir: Path) -> Path:
    """`mirror-stage agent enroll HOST`, as an operator runs it; the credentials file."""
    enrolling = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        "agent",
        "enroll",
        HOST,
        "--data-dir",
        str(data_dir),
        env=stack.env,
        stdout=asyncio.subprocess.PIPE,
    )
    printed, _ = await enrolling.communicate()
    found = re.search(r"credentials file is (\S+)", printed.decode())
    if enrolling.returncode != 0 or found is None:
        raise RuntimeError(f"enroll failed: {printed.decode()}")
    return Path(found[1])


async def signing_key(stack: RunningStack) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(
            f"http://127.0.0.1:{stack.port('commands')}/api/commands/signing-key"
        )
    answer.raise_for_status()
    key: str = answer.json()["public_key"]
    return key


async def measure(seconds: float, interval: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        data_dir = Path(tmp) / "stack"
        async with mirror_stage_up(data_dir, "--no-agent") as stack:
            credentials = await enroll(stack, data_dir)
            config = Path(tmp) / "agent.toml"
            config.write_text(
                f'nats_url = "{stack.env["MIRROR_STAGE_NATS_URL"]}"\n'
                f'host_id = "{HOST}"\ncredentials_file = "{credentials}"\n'
                f"interval_seconds = {interval}\n"
                f'buffer_dir = "{Path(tmp) / "buffer"}"\n'
                f'\n[commands]\nsigning_public_key = "{await signing_key(stack)}"\n'
                f'state_dir = "{Path(tmp) / "state"}"\n'
            )
            agent = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mirror_agent",
                "--config",
                str(config),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            process = psutil.Process(agent.pid)
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"], **credential_options(admin(data_dir), None)
            )
            try:
                await asyncio.sleep(WARM_UP_SECONDS)
                before = process.cpu_times()
                started = time.monotonic()
                await asyncio.sleep(seconds)
                after = process.cpu_times()
                elapsed = time.monotonic() - started
                used = (after.user + after.system) - (before.user + before.system)
                rss_now = process.memory_info().rss / 2**20
                peak = peak_rss_mib(agent.pid)
                js = nc.jetstream()
                info = await js.stream_info(
                    streams.METRICS.name, subjects_filter=subjects.metrics_raw(HOST)
                )
                stored = (info.state.subjects or {}).get(subjects.metrics_raw(HOST), 0)
                consumers = [
                    c.name for c in await js.consumers_info(streams.COMMANDS.name) if HOST in c.name
                ]
            finally:
                agent.terminate()
                await agent.wait()
                await nc.close()
    print(f"agent as deployed at {interval} s for {elapsed:.0f} s: {stored} samples stored")
    print(f"its command consumer: {', '.join(consumers) or 'none'}")
    print(f"CPU: {100 * used / elapsed:.2f} % of one core (target < 0.5 %)")
    print(f"RSS: {rss_now:.1f} MiB now, peak {peak:.1f} MiB (target < 35 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(measure(args.seconds, args.interval))


if __name__ == "__main__":
    main()
