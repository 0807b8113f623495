"""A fleet enrolled in a running stack with `mirror-stage agent enroll --from FILE`: every
host's identity and ingest token in one write, and nats-server reloaded once. Not named
bench_*.py: `make bench` runs every bench_*.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
from stack_up import RunningStack

from mirror_stage.enrollment import EnrolledAgent
from stack_cli import mirror_stage


@dataclass(frozen=True)
class EnrolledHost:
    host_id: str
    credentials: Path  # its NATS credentials file
    ingest_token: str  # its bearer token for POST /api/metrics/batch


async def enroll_list(
    stack: RunningStack, data_dir: Path, host_ids: Sequence[str]
) -> list[EnrolledHost]:
    """Run `mirror-stage agent enroll --from FILE` for `host_ids`; each new host with its
    credentials and token."""
    listing = data_dir.parent / f"hosts-{time.monotonic_ns()}.txt"
    listing.write_text("".join(f"{host}\n" for host in host_ids))
    code, printed = await mirror_stage(
        stack.env, "agent", "enroll", "--from", str(listing), "--data-dir", str(data_dir)
    )
    if code != 0:
        raise RuntimeError(f"mirror-stage agent enroll --from failed: {printed}")
    lines = (line for line in printed.splitlines() if line.startswith("{"))
    agents = [msgspec.json.decode(line, type=EnrolledAgent) for line in lines]
    return [EnrolledHost(a.host_id, Path(a.credentials_file), a.ingest_token) for a in agents]


async def enroll_fleet(
    stack: RunningStack, data_dir: Path, host_ids: Sequence[str]
) -> list[EnrolledHost]:
    """Enroll `host_ids` in the running stack, then wait for nats-server to settle."""
    enrolled = await enroll_list(stack, data_dir, host_ids)
    await nats_settled(stack)
    return enrolled


# nats-server goes on wiring a reload's accounts after it logs the reload: with thousands of
# agents (each an account of its own) that is seconds of a core. A bench run meanwhile would
# measure the reload.
SETTLED_CPU_PERCENT = 10.0
SETTLE_LIMIT_SECONDS = 180.0


async def nats_settled(stack: RunningStack) -> float:
    """Wait (bounded) until nats-server uses under SETTLED_CPU_PERCENT of a core over a
    second; the seconds waited."""
    began = time.monotonic()
    servers = [p for p in stack.descendants() if p.name() == "nats-server"]
    while time.monotonic() - began < SETTLE_LIMIT_SECONDS:
        before = sum(sum(p.cpu_times()[:2]) for p in servers)
        await asyncio.sleep(1.0)
        if sum(sum(p.cpu_times()[:2]) for p in servers) - before < SETTLED_CPU_PERCENT / 100:
            break
    return time.monotonic() - began
