"""AlertsEngine: the leading replica's evaluation, from METRICS to stored, published, notified.

Evaluation runs one batch at a time under a lock; the committer (committer.py) publishes the
changes on ``alerts.events.<host>``, notifies, and only then acknowledges the samples; the
recorder (recorder.py) stores them in PostgreSQL from the stream, so a database outage stops
none of it. Every ``snapshot_seconds`` the evaluator's state is saved with the stream
sequence it covers; a new leader (a restart, a standby taking over) first stores every event
published so far, then restores the snapshot, adopts the open alerts stored since, and
replays METRICS from the next sequence (resume.py), so nothing acknowledged is lost and no
alert fires twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg

from mirror_alerts.config import AlertsConfig
from mirror_alerts.evaluation.alert_state import AlertChange
from mirror_alerts.evaluation.committer import Committer, CommitUnit
from mirror_alerts.evaluation.evaluator import Evaluator, UnknownAlertError
from mirror_alerts.evaluation.leader import Lease
from mirror_alerts.evaluation.notices import ChangeNotices, Listener
from mirror_alerts.evaluation.recorder import Recorder
from mirror_alerts.evaluation.resume import DURABLE, bind_consumer, resume_state, seed_notifier
from mirror_alerts.metrics import CONSUMER_LAG, LEADING, OPEN_ALERTS, SAMPLES_REFUSED
from mirror_alerts.notify.dispatcher import Dispatcher
from mirror_alerts.notify.grouping import Grouper
from mirror_alerts.notify.notifier import Notifier
from mirror_alerts.publisher import EventPublisher
from mirror_alerts.rules import RuleError
from mirror_alerts.silences import Silence, is_silenced
from mirror_alerts.stores import (
    alert_store,
    delivery_store,
    rule_store,
    silence_store,
    snapshot_store,
)
from mirror_runtime.deadletter import REJECTED, dead_letter
from mirror_runtime.doors import TRANSIENT
from mirror_runtime.heap import settle_heap
from mirror_runtime.periodic import every
from mirror_runtime.pull import BatchPuller
from mirror_schema.admission import SampleRefusedError, admit_sample
from mirror_schema.alerts import AlertEvent

__all__ = ["AlertsEngine"]

log = structlog.get_logger()

BATCH: Final = 500
FETCH_SECONDS: Final = 1.0
DRAIN_SECONDS: Final = 10.0  # at stop, how long committing what was evaluated may take
RETRY_SECONDS: Final = 0.5
# Silences are re-read on every change notice, and this often in case a notice was missed.
SILENCES_REFRESH_SECONDS: Final = 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlertsEngine:
    """Evaluation while leading: consume, evaluate, store, publish, notify, snapshot."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        pool: asyncpg.Pool,
        config: AlertsConfig,
        publisher: EventPublisher,
        *,
        clock: Callable[[], datetime] = _utc_now,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.pool = pool
        self.config = config
        self.publisher = publisher
        self.clock = clock
        self.evaluator = Evaluator()
        self.grouper = Grouper(group_wait=config.group_wait, repeat_interval=config.repeat_interval)
        self.dispatcher = dispatcher or Dispatcher(
            config.receivers.receivers, on_delivered=delivery_store.DeliveryRecorder(pool)
        )
        self.notifier = Notifier(
            self.grouper, self.dispatcher, silenced=self._silenced, clock=clock
        )
        self.position = 0  # the METRICS sequence of the last sample fully handled
        self.replay_until = 0  # samples up to this METRICS sequence are a replay
        self.recorder = Recorder(self.js, pool)
        self.lag = 0
        self.leading = False
        # One evaluation at a time (samples, sweeps, rules, acks), each queued for the
        # committer in the order it ran.
        self._lock = asyncio.Lock()
        self.committer = self._new_committer()
        self._silences: list[Silence] = []
        self._rules_changed = asyncio.Event()
        self._silences_changed = asyncio.Event()
        self._acks: dict[str, alert_store.AckNotice] = {}
        self._acked = asyncio.Event()
        self._acks_missed = False  # a notice may have been lost: read them from the store

    def _new_committer(self) -> Committer:
        # tags_of reads the evaluator of the moment: restore() replaces it.
        return Committer(
            self.pool,
            self.publisher,
            self.notifier,
            lambda host_id: self.evaluator.tags_of(host_id),
            self.clock,
            on_published=self.recorder.wake,
        )

    # Leading

    async def lead(self, lease: Lease) -> None:
        """Evaluate until cancelled, or until ``lease`` says another replica may lead."""
        if self.config.service.db_url is None:
            raise ValueError("the alerts engine needs MIRROR_STAGE_DB_URL")
        listeners: dict[str, Listener] = {
            rule_store.RULES_CHANNEL: self._on_rules_notice,
            silence_store.SILENCES_CHANNEL: self._on_silences_notice,
            alert_store.ACKS_CHANNEL: self._on_ack_notice,
        }
        notices = ChangeNotices(self.config.service.db_url, listeners, self._on_notices_connected)
        puller: BatchPuller | None = None
        tasks: list[asyncio.Task[None]] = []
        self.committer = self._new_committer()
        committer = asyncio.create_task(self.committer.run(), name="alerts-committer")
        listening = asyncio.create_task(notices.run(), name="alerts-notices")
        restored = False
        try:
            await notices.connected.wait()  # before reading: no change missed
            await self.restore()
            restored = True
            puller = await bind_consumer(self.nc, self.position)
            await self.dispatcher.start()
            self.leading = True
            LEADING.set(1)
            work: list[Awaitable[None]] = [
                self._consume(puller),
                every(self.config.sweep_seconds, self.sweep),
                every(self.config.snapshot_seconds, self.save_snapshot),
                every(SILENCES_REFRESH_SECONDS, self._reload_silences),
                self._react(),
                self.notifier.run(),
                self.recorder.run(),
            ]
            tasks = [asyncio.create_task(w) for w in work]  # type: ignore[arg-type]
            # Shielded: a cancelled term still commits what it evaluated (see _finish); a
            # committer that fails ends the term all the same.
            await asyncio.gather(asyncio.shield(committer), listening, *tasks)
        finally:
            self.leading = False
            LEADING.set(0)
            for task in (listening, *tasks):
                task.cancel()
            await asyncio.gather(listening, *tasks, return_exceptions=True)
            if puller is not None:
                with contextlib.suppress(nats.errors.Error):
                    await puller.close()
            # What was evaluated is committed, then the last snapshot is saved and the queued
            # notifications sent, even when cancelled.
            await asyncio.shield(self._finish(lease, committer, restored=restored))

    async def _finish(self, lease: Lease, committer: asyncio.Task[None], *, restored: bool) -> None:
        # A term that failed before its state was restored has nothing of its own to save.
        try:
            # A snapshot must not run ahead of the stream: the samples it covers are skipped.
            drained = await self.committer.drain(committer, DRAIN_SECONDS)
            if restored and drained and lease.held():
                await self.save_snapshot()
            elif restored and drained:
                # Another replica may lead now and save newer state, which an older snapshot
                # must not overwrite.
                log.warning("snapshot.final_skipped", reason="the lease may have run out")
        except Exception:
            log.exception("snapshot.final_failed")
        await self.dispatcher.close()

    async def restore(self) -> None:
        """Store every event published so far, rebuild the state from PostgreSQL and decide
        where in METRICS to resume."""
        await self.recorder.catch_up()
        resumed = await resume_state(
            self.pool, self.js, max_replay=self.config.max_replay, now=self.clock()
        )
        self.evaluator, self.position = resumed.evaluator, resumed.position
        self.replay_until = resumed.last_seq
        self._silences = resumed.silences
        # A fresh grouper too: groups from an earlier term may have resolved under another
        # leader. It learns the alerts open in the store; one the snapshot holds that resolved
        # since is resolved again by the replay, which the store (and so the grouper) ignores.
        self.grouper = Grouper(
            group_wait=self.config.group_wait, repeat_interval=self.config.repeat_interval
        )
        self.notifier.grouper = self.grouper
        seed_notifier(self.notifier, resumed, self.config.group_wait, self.clock())
        await self.committer.commit_through_store(resumed.changes)
        OPEN_ALERTS.set(self.evaluator.open_count)
        # The evaluator holds every host's latest sample for as long as it leads.
        settle_heap()
        log.info(
            "evaluator.restored",
            position=self.position,
            rules=len(resumed.rules),
            open_alerts=self.evaluator.open_count,
            adopted=resumed.adopted,
            snapshot_saved_at=None if resumed.saved_at is None else resumed.saved_at.isoformat(),
        )

    # Samples

    async def _consume(self, puller: BatchPuller) -> None:
        # The next batch is pulled while this one is evaluated and committed: the round trips
        # to NATS overlap the work instead of adding to it. Batches are still handled one at
        # a time, in stream order.
        fetching = asyncio.create_task(puller.fetch(BATCH, FETCH_SECONDS, eager=True))
        try:
            while True:
                try:
                    msgs = await fetching
                except nats.errors.Error as exc:
                    log.warning("evaluator.fetch_failed", error=str(exc))
                    await asyncio.sleep(RETRY_SECONDS)
                    msgs = []
                fetching = asyncio.create_task(puller.fetch(BATCH, FETCH_SECONDS, eager=True))
                if msgs:
                    await self.handle(msgs)
                    self.lag = msgs[-1].metadata.num_pending
                    CONSUMER_LAG.set(self.lag)
        finally:
            fetching.cancel()
            await asyncio.gather(fetching, return_exceptions=True)

    async def handle(self, msgs: Sequence[Msg]) -> None:
        """Evaluate a fetched batch and queue it for the committer, which stores and publishes
        its changes, then acknowledges its samples."""
        async with self._lock:
            now = self.clock()
            changes: list[AlertChange] = []
            evaluated: list[Msg] = []
            for msg in msgs:
                try:
                    # The subject's host, which the server vouched for, never the payload's.
                    sample = admit_sample(msg.subject, msg.data, received_at=msg.metadata.timestamp)
                except SampleRefusedError as exc:
                    await self._refuse(msg, exc.detail, exc.reason)
                    continue
                try:
                    changes += self.evaluator.observe(sample, now)
                except Exception as exc:
                    log.exception("evaluator.crashed", subject=msg.subject)
                    await self._refuse(msg, f"evaluating it failed: {exc!r}", "crashed")
                    continue
                evaluated.append(msg)
            replayed = msgs[-1].metadata.sequence.stream <= self.replay_until
            unit = CommitUnit(changes=changes, held=msgs, evaluated=evaluated, replayed=replayed)
            await self.committer.put(unit)
            OPEN_ALERTS.set(self.evaluator.open_count)
            self.position = max(self.position, msgs[-1].metadata.sequence.stream)

    async def _refuse(self, msg: Msg, reason: str, label: str) -> None:
        SAMPLES_REFUSED.inc()
        if await dead_letter(self.js, msg, reason, consumer=DURABLE):
            REJECTED.labels(consumer=DURABLE, reason=label).inc()
            await msg.term()
        else:
            await msg.nak()

    # Changes

    async def sweep(self) -> None:
        """Fire the offline rule for hosts silent too long."""
        async with self._lock:
            changes = self.evaluator.sweep(self.clock())
            if changes:
                await self.committer.put(CommitUnit(changes=changes))

    async def save_snapshot(self) -> None:
        """Save the evaluator's state with the stream position it covers, once everything
        evaluated before it is committed."""
        async with self._lock:
            await self.committer.join()
            snapshot, position = self.evaluator.snapshot(), self.position
        try:
            async with self.pool.acquire() as conn:
                await snapshot_store.save_snapshot(
                    conn, snapshot, saved_at=self.clock(), position=position
                )
        except TRANSIENT as exc:
            log.warning("snapshot.save_failed", error=str(exc))

    # Change notices from other replicas (LISTEN)

    def _on_rules_notice(self, _conn: Any, _pid: int, _channel: str, _payload: object) -> None:
        self._rules_changed.set()

    def _on_silences_notice(self, _conn: Any, _pid: int, _channel: str, _payload: object) -> None:
        self._silences_changed.set()

    def _on_notices_connected(self) -> None:
        # Notices sent while the connection was down are lost: everything is read again.
        self._rules_changed.set()
        self._silences_changed.set()
        self._acks_missed = True
        self._acked.set()

    def _on_ack_notice(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            notice = alert_store.decode_ack_notice(str(payload))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("ack_notice.unreadable", error=str(exc))
            return
        self._acks[notice.alert_id] = notice  # bounded by the open alerts
        self._acked.set()

    async def _react(self) -> None:
        changed = (self._rules_changed, self._silences_changed, self._acked)
        while True:
            waits = [asyncio.create_task(event.wait()) for event in changed]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            reactions = (
                (self._rules_changed, self._reload_rules),
                (self._silences_changed, self._reload_silences),
                (self._acked, self._apply_acks),
            )
            for event, react in reactions:
                if not event.is_set():
                    continue
                event.clear()
                try:
                    await react()
                except TRANSIENT as exc:
                    log.warning("notice.failed", reaction=react.__name__, error=str(exc))
                    event.set()  # again after a pause: a change must not be missed
                    await asyncio.sleep(RETRY_SECONDS)

    async def _reload_rules(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                rules = [stored.rule for stored in await rule_store.list_rules(conn)]
        except RuleError as exc:
            log.error("rules.unreadable", error=str(exc))
            return
        async with self._lock:
            changes = self.evaluator.set_rules(rules, self.clock())
            if changes:
                await self.committer.put(CommitUnit(changes=changes))
        log.info("rules.reloaded", rules=len(rules), closed=len(changes))

    async def _reload_silences(self) -> None:
        async with self.pool.acquire() as conn:
            self._silences = await silence_store.list_silences(conn, self.clock())

    async def _apply_acks(self) -> None:
        if self._acks_missed:
            async with self.pool.acquire() as conn:
                for notice in await alert_store.stored_acks(conn):
                    self._acks.setdefault(notice.alert_id, notice)
            self._acks_missed = False
        acks, self._acks = self._acks, {}
        async with self._lock:
            changes: list[AlertChange] = []
            for notice in acks.values():
                try:
                    change = self.evaluator.acknowledge(notice.alert_id, notice.by, notice.at)
                except UnknownAlertError:
                    continue  # resolved meanwhile: nothing left to stop repeating
                if change is not None:
                    changes.append(change)
            if changes:
                # Stored and published by the API that took the ack: only the notifier needs
                # it, after the changes evaluated before it.
                await self.committer.put(CommitUnit(notify_only=changes))

    def _silenced(self, event: AlertEvent) -> bool:
        tags = self.evaluator.tags_of(event.host_id)
        return is_silenced(self._silences, event, tags, now=self.clock())
