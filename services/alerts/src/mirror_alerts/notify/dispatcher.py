"""Dispatcher: notifications queued per receiver and delivered by one worker task each.

`enqueue()` is a plain function: it never awaits, so evaluation is never slowed by a
webhook. Each receiver has its own bounded queue and worker, so a receiver that hangs or
fails delays only its own notifications, and one receiver gets its notifications in order
(a firing before its resolved). When a receiver's queue is full, its oldest pending
notification is dropped and counted: the newest state of an incident matters most. How each
delivery ended is handed to `on_delivered` (the service stores a receiver's latest).
"""

from __future__ import annotations

import asyncio
import contextlib
import random as random_module
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final

import httpx
import structlog

from mirror_alerts.notify import metrics
from mirror_alerts.notify.formats import render
from mirror_alerts.notify.model import Notification
from mirror_alerts.notify.receivers import Receiver
from mirror_alerts.notify.webhook import DeliveryResult, RetryPolicy, deliver
from mirror_schema.alert_api import DeliveryRecord

__all__ = ["Delivered", "Dispatcher"]

log = structlog.get_logger()

# Told how each delivery ended: the receiver's name and the record of it.
Delivered = Callable[[str, DeliveryRecord], Awaitable[None]]
CRASHED: Final = DeliveryResult(
    outcome="gave_up", attempts=0, error="crashed: see the alerts service's log"
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class _Outbox:
    receiver: Receiver
    queue: asyncio.Queue[Notification]
    task: asyncio.Task[None] | None = None


class Dispatcher:
    """Delivers notifications to receivers in the background; use as `async with`."""

    def __init__(
        self,
        receivers: Sequence[Receiver],
        *,
        policy: RetryPolicy | None = None,
        queue_size: int = 256,
        random: Callable[[], float] = random_module.random,
        on_delivered: Delivered | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size: must be >= 1, got {queue_size}")
        self.policy = policy or RetryPolicy()
        self.random = random
        self.on_delivered = on_delivered
        self.clock = clock
        self._outboxes = [_Outbox(r, asyncio.Queue(queue_size)) for r in receivers]
        self._client: httpx.AsyncClient | None = None

    def enqueue(self, notification: Notification) -> int:
        """Queue `notification` for every receiver that wants it; how many. Never blocks."""
        queued = 0
        for box in self._outboxes:
            if not box.receiver.wants(notification):
                continue
            if box.queue.full():
                dropped = box.queue.get_nowait()
                box.queue.task_done()
                metrics.DROPPED.labels(receiver=box.receiver.name).inc()
                log.warning(
                    "notify.dropped",
                    receiver=box.receiver.name,
                    rule_id=dropped.rule_id,
                    host_id=dropped.host_id,
                    kind=dropped.kind,
                    queue_size=box.queue.maxsize,
                )
            box.queue.put_nowait(notification)
            queued += 1
        return queued

    def pending(self) -> int:
        """Notifications queued and not yet taken by a worker, over all receivers."""
        return sum(box.queue.qsize() for box in self._outboxes)

    async def start(self) -> None:
        """Open the HTTP client and start one worker per receiver."""
        if self._client is not None:
            return
        self._client = httpx.AsyncClient(follow_redirects=False)
        for box in self._outboxes:
            box.task = asyncio.create_task(self._work(box), name=f"notify-{box.receiver.name}")

    async def close(self, *, drain_seconds: float = 5.0) -> None:
        """Deliver what is queued for up to `drain_seconds`, then stop the workers."""
        if self._client is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_seconds):
                await asyncio.gather(*(box.queue.join() for box in self._outboxes))
        tasks = [box.task for box in self._outboxes if box.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        left = self.pending()
        if left:
            log.warning("notify.undelivered_at_close", pending=left)
        await self._client.aclose()
        self._client = None

    async def __aenter__(self) -> Dispatcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _work(self, box: _Outbox) -> None:
        while True:
            notification = await box.queue.get()
            try:
                await self._deliver(box.receiver, notification)
            finally:
                box.queue.task_done()  # after the record too: close() drains both

    async def _deliver(self, receiver: Receiver, notification: Notification) -> None:
        assert self._client is not None
        name = receiver.name
        try:
            body = render(notification, receiver)
            result = await deliver(self._client, receiver, body, self.policy, random=self.random)
        except Exception:
            # The worker's edge: one bad notification must not end this receiver's deliveries.
            metrics.FAILED.labels(receiver=name, reason="crashed").inc()
            log.exception("notify.crashed", receiver=name, rule_id=notification.rule_id)
            await self._tell(name, notification, CRASHED, crashed=True)
            return
        await self._tell(name, notification, result)
        if result.attempts > 1:
            metrics.RETRIED.labels(receiver=name).inc(result.attempts - 1)
        fields = {
            "receiver": name,
            "rule_id": notification.rule_id,
            "host_id": notification.host_id,
            "kind": notification.kind,
            "attempts": result.attempts,
            "status": result.status,
        }
        if result.outcome == "sent":
            metrics.SENT.labels(receiver=name).inc()
            log.info("notify.sent", **fields)
        else:
            metrics.FAILED.labels(receiver=name, reason=result.outcome).inc()
            log.error(f"notify.{result.outcome}", error=result.error, **fields)

    async def _tell(
        self,
        name: str,
        notification: Notification,
        result: DeliveryResult,
        *,
        crashed: bool = False,
    ) -> None:
        if self.on_delivered is None:
            return
        record = DeliveryRecord(
            at=self.clock(),
            outcome="crashed" if crashed else result.outcome,
            attempts=result.attempts,
            status=result.status,
            error=result.error,
            kind=notification.kind,
            rule_id=notification.rule_id,
            host_id=notification.host_id,
        )
        try:
            await self.on_delivered(name, record)
        except Exception:
            log.exception("notify.record_crashed", receiver=name)
