"""Publish a simulated fleet to a real nats-server and print the acknowledged host-samples/s.

Run: .venv/bin/python bench/bench_simulator.py [--hosts 20000 10000] [--interval 1] [--seconds 20]
"""

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

import nats

from mirror_agent.simulate import SimulatorOptions, run_simulator
from mirror_schema.streams import ensure_streams
from mirror_stage.natsd import BENCH_SYNC_INTERVAL, loopback_nats_spec
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised

DEFAULTS = SimulatorOptions(hosts=1)


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_run(url: str, server_pid: int, args: argparse.Namespace, hosts: int) -> None:
    options = SimulatorOptions(
        hosts=hosts,
        nats_url=url,
        interval=args.interval,
        duration=args.seconds,
        prefix=f"bench{hosts}",
        shippers=args.shippers,
        batch_size=args.batch_size,
    )
    began, cpu, server_cpu = time.monotonic(), own_cpu_seconds(), cpu_seconds_of(server_pid)
    report = await run_simulator(options, asyncio.Event())
    elapsed = time.monotonic() - began
    cpu, server_cpu = own_cpu_seconds() - cpu, cpu_seconds_of(server_pid) - server_cpu
    offered = hosts / args.interval
    kept_up = report.skipped_ticks == 0 and report.buffered == 0
    print(
        f"hosts={hosts} interval={args.interval}s run={elapsed:.1f}s "
        f"(shippers={args.shippers} batch={args.batch_size})\n"
        f"  offered {offered:,.0f}/s  acknowledged {report.sent / elapsed:,.0f} host-samples/s "
        f"(sent {report.sent:,} of {report.submitted:,} submitted)\n"
        f"  ticks {report.ticks} (skipped {report.skipped_ticks})  buffered at end "
        f"{report.buffered:,} (peak {report.max_buffered:,})  dropped {report.dropped:,}\n"
        f"  CPU: simulator {cpu:.1f}s ({cpu / elapsed:.0%} of a core, "
        f"{cpu / max(report.sent, 1) * 1e6:.0f} us/sample), nats-server {server_cpu:.1f}s "
        f"({server_cpu / elapsed:.0%})\n"
        f"  kept up: {'yes' if kept_up else 'no'}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, nargs="+", default=[20_000, 10_000])
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--shippers", type=int, default=DEFAULTS.shippers)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base_dir:
        base, port = Path(base_dir), free_port()
        server = Supervised(loopback_nats_spec(base, port=port, sync_interval=BENCH_SYNC_INTERVAL))
        await server.start()
        try:
            assert server.pid is not None
            nc = await nats.connect(server.spec.address)
            await ensure_streams(nc.jetstream())
            await nc.close()
            for hosts in args.hosts:
                await one_run(server.spec.address, server.pid, args, hosts)
        finally:
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
