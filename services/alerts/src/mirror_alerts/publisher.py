"""EventPublisher: alert changes onto ``alerts.events.<host>``, each once (Nats-Msg-Id)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import nats.errors
import nats.js.client
import structlog

from mirror_alerts.evaluation.alert_state import AlertChange, as_alert_event
from mirror_schema import codec, subjects
from mirror_schema.backoff import Backoff

__all__ = ["EventPublisher", "message_id"]

log = structlog.get_logger()

ATTEMPTS: Final = 5
FIRST_DELAY_SECONDS: Final = 0.2
# Above the last delay that ATTEMPTS tries reach (1.6 s): the delays only double.
MAX_DELAY_SECONDS: Final = 2.0


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
        """Publish every change in order; raises once a change failed ``ATTEMPTS`` times.

        All are sent at once and their acks awaited together (a storm of changes costs one
        round trip, not one each). From the first that failed, the rest are sent again one by
        one, in order: the stream drops any it had already stored by their Nats-Msg-Id.
        """
        acks = []
        for change in changes:
            subject, body, headers = self._message(change)
            acks.append(await self.js.publish_async(subject, body, headers=headers))
        results = await asyncio.gather(*acks, return_exceptions=True)
        for index, result in enumerate(results):
            if isinstance(result, Exception):
                log.warning("event.publish_retry", error=str(result), left=len(changes) - index)
                for change in changes[index:]:
                    await self._publish_one(change)
                return
            if isinstance(result, BaseException):
                raise result

    def _message(self, change: AlertChange) -> tuple[str, bytes, dict[str, str]]:
        subject = self.prefix + subjects.alerts_events(change.host_id)
        return subject, codec.encode(as_alert_event(change)), {"Nats-Msg-Id": message_id(change)}

    async def _publish_one(self, change: AlertChange) -> None:
        subject, body, headers = self._message(change)
        backoff = Backoff(first=FIRST_DELAY_SECONDS, cap=MAX_DELAY_SECONDS)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self.js.publish(subject, body, headers=headers)
                return
            except (nats.errors.Error, TimeoutError) as exc:
                if attempt == ATTEMPTS:
                    raise
                log.warning("event.publish_retry", alert_id=change.alert_id, error=str(exc))
                await asyncio.sleep(backoff.next())
