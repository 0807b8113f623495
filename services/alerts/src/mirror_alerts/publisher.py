"""EventPublisher: alert changes onto ``alerts.events.<host>``, each once (Nats-Msg-Id)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import nats.errors
import nats.js.client
import structlog

from mirror_alerts.alert_state import AlertChange, as_alert_event
from mirror_schema import codec, subjects

__all__ = ["EventPublisher", "message_id"]

log = structlog.get_logger()

ATTEMPTS: Final = 5
FIRST_DELAY_SECONDS: Final = 0.2


def message_id(change: AlertChange) -> str:
    """``<alert id>:<kind>``: a replayed change within the stream's duplicate window is stored
    once, so a restart that re-derives a change never publishes it twice."""
    return f"{change.alert_id}:{change.kind}"


class EventPublisher:
    """Publishes AlertEvents to the ALERTS stream and waits for the stream's ack."""

    def __init__(self, js: nats.js.client.JetStreamContext, subject_prefix: str = "") -> None:
        self.js = js
        self.prefix = subject_prefix.rstrip(".") + "." if subject_prefix else ""

    async def publish(self, changes: Sequence[AlertChange]) -> None:
        """Publish every change in order; raises once a change failed ``ATTEMPTS`` times."""
        for change in changes:
            await self._publish_one(change)

    async def _publish_one(self, change: AlertChange) -> None:
        subject = self.prefix + subjects.alerts_events(change.host_id)
        body = codec.encode(as_alert_event(change))
        headers = {"Nats-Msg-Id": message_id(change)}
        delay = FIRST_DELAY_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self.js.publish(subject, body, headers=headers)
                return
            except (nats.errors.Error, TimeoutError) as exc:
                if attempt == ATTEMPTS:
                    raise
                log.warning("event.publish_retry", alert_id=change.alert_id, error=str(exc))
                await asyncio.sleep(delay)
                delay *= 2
