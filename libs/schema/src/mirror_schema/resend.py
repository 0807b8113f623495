"""What a publisher to METRICS sends again after a reconnect: the samples acknowledged just
before it lost the connection.

On a single server METRICS is flushed asynchronously (streams.METRICS): nats-server
acknowledges a sample before its write reaches the file, which happens within milliseconds.
A nats-server killed in that moment (kill -9, a crash, the OOM killer) comes back without the
samples of those last milliseconds, though their publishers were told they were stored: 109 of
60,000 over three kills in full flow (bench/bench_durability.py --no-resend).

So every publisher keeps what was acknowledged in the last RESEND_SECONDS and, once its
connection has been re-established, publishes it again with the same Nats-Msg-Id before
anything new. The stream's duplicate window (DUPLICATE_WINDOW_SECONDS, which the server
rebuilds from its files at a restart) drops those it still holds and stores those it lost.
After an outage longer than the window a resent sample may be stored twice; the history
writes a (host, time) once and the twin and the alerts take a repeated sample as it is.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")

# Far more than the ~10 ms in which an acknowledged sample can still be lost, and short
# enough that the tail costs little: at 10,000 samples/s, 20,000 kept.
RESEND_SECONDS: Final = 2.0
MAX_KEPT: Final = 50_000


class AcknowledgedTail(Generic[T]):
    """The samples acknowledged in the last RESEND_SECONDS, each with the connection that
    carried its acknowledgement, and those due to be sent again.

    `reconnects` reads the connection's count of re-established connections (nats-py's
    ``stats["reconnects"]``): an acknowledgement counts for the connection it arrived on, so
    one that arrives late, from the restarted server, does not move the moment the old one
    was lost."""

    def __init__(
        self,
        reconnects: Callable[[], int],
        *,
        seconds: float = RESEND_SECONDS,
        max_kept: int = MAX_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reconnects = reconnects
        self.seconds = seconds
        self.max_kept = max_kept
        self.clock = clock
        self._acknowledged: deque[tuple[float, int, T]] = deque(maxlen=max_kept)
        self._due: list[T] = []
        self._seen = reconnects()

    def watch(self, ack: asyncio.Future[Any], item: T) -> None:
        """Keep `item` from the moment `ack` resolves as an acknowledgement."""
        ack.add_done_callback(lambda done: self._resolved(done, item))

    def _resolved(self, ack: asyncio.Future[Any], item: T) -> None:
        if not ack.cancelled() and ack.exception() is None:
            self._acknowledged.append((self.clock(), self.reconnects(), item))

    def due(self) -> list[T]:
        """What to publish again, oldest first, before anything new; the caller holds it from
        here (watched again as it is published; what fails goes back to `still_due`).

        Once the connection has been re-established, what was acknowledged on the one before
        in the RESEND_SECONDS up to its last acknowledgement (the moment it was lost) falls
        due."""
        now = self.reconnects()
        if now != self._seen:
            self._seen = now
            before = [(at, item) for at, carried, item in self._acknowledged if carried < now]
            if before:
                lost_at = before[-1][0]
                self._due.extend(item for at, item in before if at >= lost_at - self.seconds)
            kept = [entry for entry in self._acknowledged if entry[1] >= now]
            self._acknowledged.clear()
            self._acknowledged.extend(kept)
        due, self._due = self._due[-self.max_kept :], []
        return due

    def still_due(self, items: list[T]) -> None:
        """`items`, handed out by `due`, were not acknowledged: they go first next time."""
        self._due[:0] = items
