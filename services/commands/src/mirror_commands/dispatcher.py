"""Dispatcher: publishes pending commands to their hosts, claimed and marked in batches.

A batch of hosts is one transaction: their pending, unexpired commands are claimed (FOR
UPDATE SKIP LOCKED: a command another replica is dispatching is its alone), signed and
published (hosts at once, each host's commands in its dispatch order), and every published
one is marked dispatched with its event in two statements. A failed publish leaves that
command, and the host's later ones, pending for the next sample or sweep; a publish repeated
after a crash is deduplicated by its Nats-Msg-Id and by the agent's journal.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import groupby

import asyncpg
import nats.errors
import structlog
from nats.js.api import PubAck
from nats.js.client import JetStreamContext

from mirror_commands import metrics, state, store
from mirror_runtime.doors import TRANSIENT
from mirror_schema import codec, subjects
from mirror_schema.command_api import CommandRecord
from mirror_schema.command_signing import SigningKey, sign_command
from mirror_schema.commands import CommandState as S

log = structlog.get_logger()

PUBLISH_TIMEOUT_SECONDS = 5.0
# Hosts claimed in one transaction, and transactions under way at once: a fan-out to
# thousands of hosts leaves the pool's other connections to other requests.
BATCH_HOSTS = 250
BATCHES_AT_ONCE = 2


class Dispatcher:
    """Which hosts have pending commands, and the dispatch of those commands."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        signing_key: SigningKey,
        clock: Callable[[], datetime],
    ) -> None:
        self.pool = pool
        self.js = js
        self.signing_key = signing_key
        self.clock = clock
        # Hosts with pending commands: a sample from one of them triggers its dispatch.
        self.pending_hosts: set[str] = set()
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._background: dict[str, asyncio.Task[None]] = {}

    def in_background(self, host_id: str) -> None:
        """Dispatch the host's pending commands in a task of their own, unless one is under way."""
        if host_id in self.pending_hosts and host_id not in self._background:
            self._background[host_id] = asyncio.create_task(self._dispatch_logged(host_id))

    async def _dispatch_logged(self, host_id: str) -> None:
        try:
            await self.dispatch_pending(host_id)
        except TRANSIENT as exc:
            log.warning("dispatch.failed", host_id=host_id, error=str(exc))
        except Exception:
            log.exception("dispatch.crashed", host_id=host_id)
        finally:
            self._background.pop(host_id, None)

    async def dispatch_to(self, host_ids: Iterable[str]) -> int:
        """Dispatch the pending commands of `host_ids` in batches; how many were published. A
        batch the bus or the database fails is logged and left pending (the host's next sample
        or the sweep sends it)."""
        hosts = sorted(set(host_ids))
        slots = asyncio.Semaphore(BATCHES_AT_ONCE)

        async def batch(chunk: Sequence[str]) -> int:
            async with slots:
                try:
                    return await self.dispatch_pending(*chunk)
                except TRANSIENT as exc:
                    log.warning("dispatch.deferred", hosts=len(chunk), error=str(exc))
                    return 0

        chunks = [hosts[i : i + BATCH_HOSTS] for i in range(0, len(hosts), BATCH_HOSTS)]
        return sum(await asyncio.gather(*(batch(chunk) for chunk in chunks)))

    async def dispatch_pending(self, *host_ids: str) -> int:
        """Publish the unexpired pending commands of `host_ids` in one transaction, each
        host's highest priority first; how many were published."""
        hosts = sorted(set(host_ids))
        locks = [self._host_locks.setdefault(host_id, asyncio.Lock()) for host_id in hosts]
        async with contextlib.AsyncExitStack() as held:
            for lock in locks:  # in host order, as every batch: no two can deadlock
                await held.enter_async_context(lock)
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    claimed = await store.claim_pending(conn, hosts, self.clock())
                    by_host = [list(group) for _, group in groupby(claimed, lambda r: r.host_id)]
                    sent = await asyncio.gather(*(self._publish_in_order(rs) for rs in by_host))
                    published = [pair for pairs in sent for pair in pairs]
                    await store.mark_dispatched(conn, published, self.clock())
                still = await store.pending_hosts(conn, hosts)
        self.pending_hosts.difference_update(set(hosts) - still)
        self.pending_hosts.update(still)
        if published:
            metrics.TRANSITIONS.labels(S.DISPATCHED.value).inc(len(published))
            log.info("commands.dispatched", hosts=len(by_host), count=len(published))
        return len(published)

    async def _publish_in_order(
        self, records: list[CommandRecord]
    ) -> list[tuple[CommandRecord, PubAck]]:
        """Publish one host's commands one after another; those published before a failure."""
        published = []
        for record in records:
            command = sign_command(state.as_command(record), self.signing_key)
            try:
                ack = await self.js.publish(
                    subjects.commands_dispatch(record.host_id),
                    codec.encode(command),
                    timeout=PUBLISH_TIMEOUT_SECONDS,
                    headers={"Nats-Msg-Id": record.id},
                )
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("dispatch.publish_failed", command_id=record.id, error=str(exc))
                break
            published.append((record, ack))
        return published

    async def stop(self) -> None:
        """Let dispatches under way finish."""
        for task in list(self._background.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
