"""Onboarding a fleet: `mirror-stage agent enroll --from FILE` against the default stack.

    .venv/bin/python bench/bench_enroll.py [--hosts 1000] [--singles 10]

Starts `mirror-stage up --no-agent` as the README does (authorization on, default settings),
then:

- enrolls --singles hosts one command at a time (`mirror-stage agent enroll HOST`), as a
  fleet was enrolled before lists: seconds per host;
- writes --hosts host ids to a file and runs `mirror-stage agent enroll --from FILE` once:
  the command's wall-clock seconds (identities, tokens, nats-server's users written and the
  server reloaded), then the seconds until the last host of the list, connecting with its new
  credentials, has its first sample acknowledged by METRICS, and until nats-server has
  settled (it goes on wiring the new accounts after it logs the reload);
- runs the same list again: every host is enrolled already, nothing changes.

Prints figures; asserts nothing. Loopback only; every phase bounded in time.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from enrolled_fleet import EnrolledHost, enroll_list, nats_settled
from scratch import leave_scratch
from stack_up import RunningStack, mirror_stage_up

from mirror_schema import subjects
from mirror_schema.identities import inbox_prefix
from mirror_schema.samples import MetricSample
from mirror_stage.identity_store import agent_name
from stack_cli import mirror_stage

FIRST_SAMPLE_LIMIT_SECONDS = 120.0


async def first_sample_acknowledged(stack: RunningStack, host: EnrolledHost) -> None:
    """Connect as `host`'s agent and publish one sample until METRICS acknowledges it
    (bounded): the server knows the new identity and its account is wired."""
    deadline = time.monotonic() + FIRST_SAMPLE_LIMIT_SECONDS
    sample = MetricSample(
        host_id=host.host_id,
        hostname=host.host_id,
        timestamp=datetime.now(UTC),
        cpu_load=1.0,
        memory_used_percent=1.0,
    )
    while True:
        try:
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"],
                nkeys_seed=str(host.credentials),
                inbox_prefix=inbox_prefix(agent_name(host.host_id)),
                allow_reconnect=False,
                connect_timeout=2,
            )
            try:
                await nc.jetstream().publish(
                    subjects.metrics_raw(host.host_id), msgspec.json.encode(sample), timeout=2
                )
                return
            finally:
                await nc.close()
        except (nats.errors.Error, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f}")
    base = Path(tempfile.mkdtemp(prefix="bench-enroll-"))
    data_dir = base / "data"
    try:
        async with mirror_stage_up(data_dir, "--no-agent") as stack:
            began = time.monotonic()
            for k in range(args.singles):
                code, printed = await mirror_stage(
                    stack.env, "agent", "enroll", f"single-{k:03d}", "--data-dir", str(data_dir)
                )
                if code != 0:
                    raise RuntimeError(printed)
            if args.singles:
                each = (time.monotonic() - began) / args.singles
                print(f"one at a time: {each:.2f} s per host over {args.singles} hosts")

            hosts = [f"fleet-{k:05d}" for k in range(args.hosts)]
            began = time.monotonic()
            fleet = await enroll_list(stack, data_dir, hosts)
            command = time.monotonic() - began
            await first_sample_acknowledged(stack, fleet[-1])
            usable = time.monotonic() - began
            settled = await nats_settled(stack) + usable
            print(
                f"--from a list of {len(hosts):,}: the command {command:.2f} s "
                f"({len(fleet):,} enrolled); the last host's first sample acknowledged "
                f"{usable:.2f} s after the start; nats-server settled {settled:.1f} s after it"
            )
            began = time.monotonic()
            again = await enroll_list(stack, data_dir, hosts)
            print(f"the same list again: {len(again)} enrolled, {time.monotonic() - began:.2f} s")
    finally:
        leave_scratch(base, keep=args.keep)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=10)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
