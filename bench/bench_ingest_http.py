"""The HTTP gateway as the original REFLECTOR agent uses it: one sample per request, each host
with its own token, on the default stack, loaded by wrk (not Python).

    .venv/bin/python bench/bench_ingest_http.py [--hosts 3000] [--seconds 30]
                                               [--connections 64] [--threads 2]

Starts `mirror-stage up --no-agent` as the README does (authorization on, default settings,
the ingest's per-agent tokens), enrolls --hosts hosts as `mirror-stage agent enroll` does
(bench/enrolled_fleet.py: each its NATS identity and its ingest token), then runs wrk
(Debian's package) with bench/gateway.lua for --seconds: each request is a new sample of the
next host, `{"samples": [one sample]}`, with that host's token. Then it counts what reached
the bus and the history:

- requests/s answered 202 (samples accepted: JetStream acknowledged each), the other
  statuses, and wrk's latency p50/p99;
- METRICS' growth against the samples accepted (nothing acknowledged may be missing);
- the history's rows of the fleet against METRICS' growth, once the history writer has caught
  up (bounded wait), and how long that took after wrk stopped;
- each process's CPU over the run.

Prints figures; asserts nothing. Loopback only; every phase bounded in time.
"""

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec
import nats
import nats.js

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

import process_cpu
from enrolled_fleet import EnrolledHost, enroll_fleet
from scratch import leave_scratch
from stack_up import admin, mirror_stage_up

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_schema.identities import ADMIN, inbox_prefix
from mirror_schema.nats_credentials import credential_options

TARGET_PER_SECOND = 3000
PREFIX = "gw"
SEQ_MARK = 987_654_321_012
TIMESTAMP_MARK = datetime(2001, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)
DRAIN_SECONDS = 120.0
LUA = Path(__file__).resolve().parent / "gateway.lua"


def cpu_now() -> dict[str, float]:
    """CPU seconds so far per part of the stack, and of this process's ended children: wrk,
    once it has exited."""
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk = ended.ru_utime + ended.ru_stime
    return process_cpu.cpu_by_part(process_cpu.STACK_PARTS) | {"wrk": wrk}


def host_lines(fleet: list[EnrolledHost]) -> str:
    """gateway.lua's hosts file: per host its token and its sample cut around the timestamp
    and the seq, which the script fills in per request."""
    samples = SimulatedFleet(len(fleet), seed=11, prefix=PREFIX, run_token="gw").tick(time.time())
    by_host = {sample.host_id: sample for sample in samples}
    lines = []
    for host in fleet:
        sample = msgspec.structs.replace(
            by_host[host.host_id], seq=SEQ_MARK, timestamp=TIMESTAMP_MARK
        )
        text = msgspec.json.encode(sample).decode()
        before, rest = text.split(msgspec.json.encode(TIMESTAMP_MARK).decode().strip('"'))
        between, after = rest.split(str(SEQ_MARK))
        lines.append("\t".join((host.ingest_token, before, between, after)))
    return "\n".join(lines) + "\n"


async def run_wrk(
    port: int, hosts_file: Path, seconds: float, connections: int, threads: int
) -> tuple[dict[int, int], float, str]:
    """wrk's status counts, its wall time and its whole output."""
    base_epoch = int(time.time()) - 60
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}",
        "--", str(hosts_file), str(base_epoch), str(threads),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(seconds + 60):
        out, _ = await process.communicate()
    wall = time.monotonic() - began
    text = out.decode()
    statuses = {
        int(parts[1]): int(parts[2])
        for line in text.splitlines()
        if (parts := line.split()) and parts[0] == "status"
    }
    return statuses, wall, text


def wrk_field(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return "?"


async def history_rows(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM metric_samples WHERE host_id LIKE $1", f"{PREFIX}-%"
        )
        return int(count)
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench_ingest_http: needs wrk (Debian: apt-get install wrk)")
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f}")
    base = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    data_dir = base / "data"
    try:
        async with mirror_stage_up(data_dir, "--no-agent") as stack:
            began = time.monotonic()
            host_ids = [f"{PREFIX}-{k:04d}" for k in range(args.hosts)]
            fleet = await enroll_fleet(stack, data_dir, host_ids)
            hosts_file = base / "hosts.tsv"
            hosts_file.write_text(host_lines(fleet[: args.posting or None]))
            print(
                f"{len(fleet)} hosts enrolled, each with its own ingest token, in "
                f"{time.monotonic() - began:.1f} s"
            )
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"],
                inbox_prefix=inbox_prefix(ADMIN),
                **credential_options(admin(data_dir)),
            )
            js = nc.jetstream()
            db_url = (data_dir / "database-url").read_text().strip()
            try:
                before = (await js.stream_info(streams.METRICS.name)).state.messages
                cpu = cpu_now()
                statuses, wall, text = await run_wrk(
                    stack.port("ingest"), hosts_file, args.seconds, args.connections, args.threads
                )
                cpu_after = cpu_now()
                stopped = time.monotonic()
                accepted = statuses.get(202, 0)
                # Requests wrk had in flight when it stopped may still be accepted (without
                # wrk seeing the 202): METRICS can grow past `accepted`, never fall short.
                while True:
                    grown = (await js.stream_info(streams.METRICS.name)).state.messages - before
                    stored = await history_rows(db_url)
                    if stored == grown or time.monotonic() - stopped > DRAIN_SECONDS:
                        break
                    await asyncio.sleep(0.2)
                drained = time.monotonic() - stopped
            finally:
                await nc.close()
    finally:
        leave_scratch(base, keep=args.keep)
    rate = accepted / args.seconds
    others = {status: n for status, n in sorted(statuses.items()) if status != 202}
    print(
        f"wrk, {args.threads} threads, {args.connections} connections, {args.seconds:g} s, one "
        f"sample per request, {len(fleet)} hosts each with its own token:"
    )
    print(
        f"  accepted (202) {accepted:,} = {rate:,.0f} samples/s (target >= {TARGET_PER_SECOND:,}: "
        f"{'met' if rate >= TARGET_PER_SECOND else 'MISSED'}); other statuses {others or 'none'}; "
        f"latency p50 {int(wrk_field(text, 'latency_p50_us')) / 1000:.1f} ms, "
        f"p99 {int(wrk_field(text, 'latency_p99_us')) / 1000:.1f} ms"
    )
    print(
        f"  METRICS grew by {grown:,} (accepted {accepted:,}: "
        f"{'none missing' if grown >= accepted else f'{accepted - grown:,} MISSING'})"
    )
    print(
        f"  history rows of the fleet {stored:,} "
        f"({'= METRICS' if stored == grown else f'METRICS {grown:,}: DIFFERENT'}), "
        f"{drained:.1f} s after wrk stopped"
    )
    print("  " + process_cpu.cpu_report(process_cpu.STACK_PARTS, cpu, cpu_after, wall, "the run"))
    if args.verbose:
        print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--posting", type=int, default=0, help="post as the first N hosts alone (0: every one)"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    asyncio.run(main(parser.parse_args()))
