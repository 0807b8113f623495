"""Committer: the evaluator's changes published and notified, in evaluation order.

The engine queues one :class:`CommitUnit` per evaluation (a batch of samples, a sweep, a rule
change); the committer publishes its changes on ``alerts.events.<host>`` (the ALERTS stream,
whose Nats-Msg-Id keeps each once), tells the notifier, and only then acknowledges the
samples they came from. The recorder (recorder.py) stores them in PostgreSQL from the stream:
alerts fire, resolve and notify while the database is down. Evaluating the next batch
overlaps these round trips.

A replay after a restart re-derives changes that may have been published long ago (further
back than the stream's duplicate window): those are stored first, and only the ones the
store did not hold yet are published and notified. The new leader has stored everything
published before it replays, so the store knows.

While NATS (or, for a replay, PostgreSQL) is down the committer waits and retries, keeping
the samples in hand from redelivery: an acknowledged sample's changes must never be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

import asyncpg
import nats.errors
import structlog
from nats.aio.msg import Msg

from mirror_alerts.evaluation.alert_state import AlertChange, as_alert_event
from mirror_alerts.metrics import CHANGES, SAMPLES_EVALUATED
from mirror_alerts.notify.notifier import Notifier
from mirror_alerts.publisher import EventPublisher
from mirror_alerts.stores import alert_store
from mirror_runtime.doors import TRANSIENT
from mirror_schema import streams
from mirror_schema.backoff import Backoff

__all__ = ["CommitUnit", "Committer"]

log = structlog.get_logger()

T = TypeVar("T")

# Evaluated units waiting to be committed: enough to overlap, few enough to bound memory.
QUEUE_SIZE: Final = 4
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 10.0
# A change re-derived by a replay is published again only if the stream can still drop it as
# a duplicate (same Nats-Msg-Id within the window); older ones were published long ago.
REPUBLISH_WINDOW: Final = timedelta(seconds=streams.DUPLICATE_WINDOW_SECONDS * 0.9)


@dataclass(frozen=True)
class CommitUnit:
    """Changes to publish, the samples they came from (acknowledged once done, kept from
    redelivery while waiting), changes only the notifier must hear of, and whether the
    samples are a replay (their changes are stored first, see the module's note)."""

    changes: Sequence[AlertChange] = ()
    held: Sequence[Msg] = ()
    evaluated: Sequence[Msg] = ()
    notify_only: Sequence[AlertChange] = ()
    replayed: bool = False


class Committer:
    """Commits units one at a time, in the order they were queued."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        notifier: Notifier,
        tags_of: Callable[[str], Mapping[str, str]],
        clock: Callable[[], datetime],
        on_published: Callable[[], None] = lambda: None,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.notifier = notifier
        self.tags_of = tags_of
        self.clock = clock
        self.on_published = on_published
        self.queue: asyncio.Queue[CommitUnit] = asyncio.Queue(QUEUE_SIZE)

    async def put(self, unit: CommitUnit) -> None:
        """Queue a unit; waits while the queue is full (the evaluation's back-pressure)."""
        await self.queue.put(unit)

    async def join(self) -> None:
        """Return once every unit queued so far is committed."""
        await self.queue.join()

    async def run(self) -> None:
        """Commit units until cancelled."""
        while True:
            unit = await self.queue.get()
            try:
                if unit.replayed:
                    await self.commit_through_store(unit.changes, unit.held)
                else:
                    await self.publish(unit.changes, unit.held)
                self._notify(unit.notify_only)
                for msg in unit.evaluated:
                    await msg.ack()
                SAMPLES_EVALUATED.inc(len(unit.evaluated))
            finally:
                self.queue.task_done()

    async def drain(self, task: asyncio.Task[None], seconds: float) -> bool:
        """Let ``task`` (running :meth:`run`) finish what is queued, within ``seconds``, then
        stop it; whether everything was committed."""
        drained = False
        if task.done():
            log.warning("commit.not_drained", reason="the committer ended")
        else:
            try:
                await asyncio.wait_for(self.queue.join(), seconds)
                drained = True
            except TimeoutError:
                log.warning("commit.not_drained", units_left=self.queue.qsize())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return drained

    async def publish(self, changes: Sequence[AlertChange], held: Sequence[Msg] = ()) -> None:
        """Publish and notify ``changes`` now (not queued), waiting out outages of NATS."""
        if not changes:
            return
        await self._until_done(self.publisher.publish, changes, held)
        self.on_published()
        for change in changes:
            CHANGES.labels(change.kind).inc()
        self._notify(changes)

    async def commit_through_store(
        self, changes: Sequence[AlertChange], held: Sequence[Msg] = ()
    ) -> None:
        """Store ``changes``, then publish and notify the ones new to the store (and publish
        again the recent ones: the stream drops a repeat), now, waiting out outages."""
        if not changes:
            return
        applied = await self._until_done(self._store, changes, held)
        fresh = {id(change) for change in applied}
        oldest = self.clock() - REPUBLISH_WINDOW
        publish = [c for c in changes if id(c) in fresh or c.at >= oldest]
        await self._until_done(self.publisher.publish, publish, held)
        for change in applied:
            CHANGES.labels(change.kind).inc()
        self._notify(applied)

    def _notify(self, changes: Sequence[AlertChange]) -> None:
        for change in changes:
            self.notifier.observe(as_alert_event(change), tags=self.tags_of(change.host_id))

    async def _store(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        async with self.pool.acquire() as conn:
            return await alert_store.apply_changes(conn, changes)

    @staticmethod
    async def _until_done(
        step: Callable[[Sequence[AlertChange]], Awaitable[T]],
        changes: Sequence[AlertChange],
        held: Sequence[Msg],
    ) -> T:
        backoff = Backoff(first=RETRY_FIRST_SECONDS, cap=RETRY_MAX_SECONDS)
        while True:
            try:
                return await step(changes)
            except TRANSIENT as exc:
                log.warning("changes.waiting", step=step.__name__, error=str(exc))
            for msg in held:
                with contextlib.suppress(nats.errors.Error):
                    await msg.in_progress()  # still ours past ack_wait
            await asyncio.sleep(backoff.next())
