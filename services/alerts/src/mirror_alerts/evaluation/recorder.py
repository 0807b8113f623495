"""Recorder: the ALERTS stream's events stored in PostgreSQL, in stream order, each once.

The leader publishes each change as soon as it is evaluated (alerts, their events and their
notifications go on while PostgreSQL is down) and the recorder stores it from the stream,
now or once the database is back. The position stored up to moves in the same transaction
as the events, so a restart or a new leader stores each event once (and storing a change
twice would change nothing: alert_store). A new leader catches up before it reads the
store, so what the store says is open is what was published.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import asyncpg
import msgspec
import nats.js.errors
import structlog
from nats.js.client import JetStreamContext

from mirror_alerts.evaluation.alert_state import AlertChange, change_of_event
from mirror_alerts.stores import recording_store
from mirror_runtime.doors import TRANSIENT
from mirror_schema import codec, streams, subjects
from mirror_schema.backoff import Backoff

__all__ = ["Recorder"]

log = structlog.get_logger()

BATCH: Final = 200  # events stored in one transaction
# Between two looks at the stream when everything is stored, unless woken by a publish.
IDLE_SECONDS: Final = 1.0
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 5.0


class Recorder:
    """Stores what the stream holds past the stored position, until cancelled."""

    def __init__(
        self, js: JetStreamContext, pool: asyncpg.Pool, *, stream: str = streams.ALERTS.name
    ) -> None:
        self.js = js
        self.pool = pool
        self.stream = stream
        self.position = 0  # the stream sequence stored up to, as last read or moved
        self._published = asyncio.Event()

    def wake(self) -> None:
        """Something was published: store it now rather than at the next look."""
        self._published.set()

    async def run(self) -> None:
        """Store events as they come; a database or bus away is waited out."""
        backoff = Backoff(first=RETRY_FIRST_SECONDS, cap=RETRY_MAX_SECONDS)
        while True:
            try:
                await self.catch_up()
            except TRANSIENT as exc:
                log.warning("recorder.waiting", error=str(exc))
                await asyncio.sleep(backoff.next())
                continue
            except Exception:
                # The loop's edge: whatever else storing met (a connection asyncpg leaves in a
                # bad state as the server shuts down) is tried again; it must not end the
                # leader's term, which could not start again without the database.
                log.exception("recorder.failed")
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._published.wait(), IDLE_SECONDS)
            self._published.clear()

    async def catch_up(self) -> None:
        """Store everything the stream holds now; raises while the database or the bus is
        away. Safe beside other recorders (the API's reads catch up too): one stores each
        batch, the others find the position moved and look again."""
        while await self._store_next():
            pass

    async def _store_next(self) -> bool:
        """Store the next batch of events; whether there may be more to store."""
        async with self.pool.acquire() as conn:
            last = (await self.js.stream_info(self.stream)).state.last_seq
            after = await recording_store.stored_position(conn, self.stream, last_in_stream=last)
        up_to, changes = await self._read_after(after)
        self.position = after
        if up_to == after:
            return False
        async with self.pool.acquire() as conn:
            try:
                await recording_store.record(conn, self.stream, changes, after=after, up_to=up_to)
            except recording_store.PositionMovedError:
                return True  # stored by another recorder meanwhile: from where it got to
        self.position = up_to
        return True

    async def _read_after(self, after: int) -> tuple[int, list[AlertChange]]:
        changes: list[AlertChange] = []
        position = after
        while len(changes) < BATCH:
            try:
                msg = await self.js.get_msg(
                    self.stream, seq=position + 1, subject=subjects.ALERTS_EVENTS_ALL, next=True
                )
            except nats.js.errors.NotFoundError:
                break
            assert msg.seq is not None
            position = msg.seq
            try:
                changes.append(change_of_event(codec.decode_alert_event(msg.data or b"")))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                # Only this service publishes here (the bus's permissions): not an alert.
                log.error("recorder.unreadable_event", seq=msg.seq, error=str(exc))
        return position, changes
