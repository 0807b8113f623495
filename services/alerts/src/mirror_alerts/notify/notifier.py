"""Notifier: the grouper and the dispatcher joined, for the service to call.

The evaluator calls `observe()` for every AlertEvent it publishes (synchronous, never
blocks); the service runs `run()` as a task, which flushes due groups every `tick` seconds
into the dispatcher's queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog

from mirror_alerts.notify import metrics
from mirror_alerts.notify.dispatcher import Dispatcher
from mirror_alerts.notify.grouping import Grouper, Observed, Silenced
from mirror_schema.alerts import AlertEvent
from mirror_schema.schedule import ticks

__all__ = ["Notifier"]

log = structlog.get_logger()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Groups alert events and hands due notifications to the dispatcher."""

    def __init__(
        self,
        grouper: Grouper,
        dispatcher: Dispatcher,
        *,
        silenced: Silenced | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.grouper = grouper
        self.dispatcher = dispatcher
        self.silenced = silenced
        self.clock = clock

    def observe(self, event: AlertEvent, *, tags: Mapping[str, str] | None = None) -> Observed:
        """Take one alert event into its group; counts and logs one refused past the cap."""
        outcome = self.grouper.observe(event, now=self.clock(), tags=tags)
        if outcome == "overflow":
            metrics.UNGROUPED.inc()
            log.error(
                "notify.groups_full",
                rule_id=event.rule_id,
                host_id=event.host_id,
                max_groups=self.grouper.max_groups,
            )
        return outcome

    def adopt(self, event: AlertEvent, *, tags: Mapping[str, str] | None = None) -> None:
        """Take an alert open before a restart as already notified (see Grouper.adopt)."""
        if self.grouper.adopt(event, now=self.clock(), tags=tags) == "overflow":
            metrics.UNGROUPED.inc()

    def tick(self) -> int:
        """Queue the notifications due now; how many."""
        due = self.grouper.flush(now=self.clock(), silenced=self.silenced)
        for notification in due:
            self.dispatcher.enqueue(notification)
        return len(due)

    async def run(self, *, tick_seconds: float = 1.0) -> None:
        """Tick now and every `tick_seconds` after, until cancelled."""
        async for _ in ticks(tick_seconds, at_start=True):
            try:
                self.tick()
            except Exception:
                # The loop's edge: a bug in one flush must not end notifications for good.
                log.exception("notify.tick_crashed")
