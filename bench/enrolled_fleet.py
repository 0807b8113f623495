"""A fleet enrolled in a running stack as `mirror-stage agent enroll HOST` enrolls one host.

Enrolling thousands of hosts one command at a time would reload nats-server thousands of
times; this makes every host's identity (and ingest token) in the stack's identity registry
as `agent enroll` does, then runs `mirror-stage agent enroll` for the last host, which writes
nats-server's users from the registry and reloads it once. Not named bench_*.py: `make bench`
runs every bench_*.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stack_up import RunningStack

from mirror_stage.identity_store import IdentityStore
from stack_cli import mirror_stage


@dataclass(frozen=True)
class EnrolledHost:
    host_id: str
    credentials: Path  # its NATS credentials file
    ingest_token: str  # its bearer token for POST /api/metrics/batch


async def enroll_fleet(
    stack: RunningStack, data_dir: Path, host_ids: Sequence[str]
) -> list[EnrolledHost]:
    """Enroll `host_ids` in the running stack; each host with its credentials and token."""
    *first, last = host_ids
    store = IdentityStore(data_dir / "identities")
    enrolled = [
        EnrolledHost(host_id, store.enroll_agent(host_id), store.new_ingest_token(host_id))
        for host_id in first
    ]
    code, printed = await mirror_stage(
        stack.env, "agent", "enroll", last, "--data-dir", str(data_dir)
    )
    credentials = re.search(r"credentials file is (\S+)", printed)
    token = re.search(r'ingest_token = "([^"]+)"', printed)
    if code != 0 or credentials is None or token is None:
        raise RuntimeError(f"mirror-stage agent enroll {last} failed: {printed}")
    await nats_settled(stack)
    return [*enrolled, EnrolledHost(last, Path(credentials[1]), token[1])]


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
