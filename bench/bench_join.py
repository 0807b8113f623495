"""A fleet joining by itself: N hosts join the default stack with one join token, at once.

    .venv/bin/python bench/bench_join.py [--hosts 200] [--at-once 32]

Starts `mirror-stage up --no-agent` as the README does (authorization on, default settings),
makes one join token for --hosts hosts with `mirror-stage agent join-token create`, then has
--hosts hosts join as `mirror-agent --join` does (mirror_agent.join.join: each makes its own
identity, asks the enroller, and waits until nats-server lets it in as itself), --at-once of
them asking at a time (the JOIN account admits 64 connections). Prints the seconds until every
host could connect as itself, the joins per second, and the p50/p99 of one host's join.
Prints figures; asserts nothing. Loopback only; every join bounded in time.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from scratch import leave_scratch
from stack_up import mirror_stage_up

from mirror_agent.join import join
from stack_cli import mirror_stage

JOIN_LIMIT_SECONDS = 300.0


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f}")
    base = Path(tempfile.mkdtemp(prefix="bench-join-"))
    data_dir = base / "data"
    try:
        async with mirror_stage_up(data_dir, "--no-agent") as stack:
            code, printed = await mirror_stage(
                stack.env,
                "agent",
                "join-token",
                "create",
                "--uses",
                str(args.hosts),
                "--data-dir",
                str(data_dir),
            )
            if code != 0:
                raise RuntimeError(printed)
            token = next(line for line in printed.splitlines() if line.startswith("MSJ1."))
            url = stack.env["MIRROR_STAGE_NATS_URL"]
            gate = asyncio.Semaphore(args.at_once)
            each: list[float] = []

            async def one(k: int) -> None:
                async with gate:
                    began = time.monotonic()
                    await join(
                        token,
                        f"joiner-{k:05d}",
                        base / "hosts" / str(k),
                        url,
                        wait_seconds=JOIN_LIMIT_SECONDS,
                    )
                    each.append(time.monotonic() - began)

            began = time.monotonic()
            await asyncio.gather(*(one(k) for k in range(args.hosts)))
            total = time.monotonic() - began
            cuts = statistics.quantiles(each, n=100)
            print(
                f"{args.hosts:,} hosts joined ({args.at_once} asking at a time) in {total:.1f} s: "
                f"{args.hosts / total:.1f} joins/s; one join p50 {cuts[49]:.2f} s, "
                f"p99 {cuts[98]:.2f} s (asking, the answer, until nats-server lets it in)"
            )
    finally:
        leave_scratch(base, keep=args.keep)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--at-once", type=int, default=32)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
