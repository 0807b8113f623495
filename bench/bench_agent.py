"""The agent's footprint: CPU as a percentage of one core and peak RSS, sampling every second.

Run: make bench  (or .venv/bin/python bench/bench_agent.py [--seconds 60] [--interval 1])
Targets (issue 3): under 0.5 % of one core and under 35 MiB. For comparison on this machine at
1 s: node_exporter 1.1 % and 20 MiB, Netdata 0.96 % and 67 MiB, Glances 1.8 % and 49 MiB.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import nats
import psutil

from mirror_schema import streams
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised

WARM_UP_SECONDS = 5.0


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def measure(seconds: float, interval: float) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    nats_part = Supervised(loopback_nats_spec(base, port=free_port()))
    await nats_part.start()
    nc = await nats.connect(nats_part.spec.address)
    await streams.ensure_streams(nc.jetstream())
    config = base / "agent.toml"
    config.write_text(
        f'nats_url = "{nats_part.spec.address}"\nhost_id = "bench-agent"\n'
        f'interval_seconds = {interval}\nbuffer_dir = "{base / "buffer"}"\n'
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
        stored = (await nc.jetstream().stream_info(streams.METRICS.name)).state.messages
    finally:
        agent.terminate()
        await agent.wait()
        await nc.close()
        await nats_part.stop()
    print(f"agent at {interval} s for {elapsed:.0f} s: {stored} samples stored")
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
