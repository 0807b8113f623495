"""BusRelay: alert events and command status, results and output, passed on to every browser.

The HUD keeps one WebSocket; what the alerts and commands services publish reaches it through
here, as it happens (from now on: the whole record is in those services' APIs).
"""

from collections.abc import Awaitable, Callable

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import prometheus_client
import structlog
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from mirror_runtime.deadletter import REJECTED
from mirror_schema import codec, subjects
from mirror_schema.twin import (
    AlertMessage,
    CommandOutputMessage,
    CommandResultMessage,
    CommandStatusMessage,
)

log = structlog.get_logger()

RELAYED = prometheus_client.Counter(
    "mirror_twin_relayed_total", "Bus messages passed on to WebSocket clients", ["type"]
)
REFUSED = prometheus_client.Counter(
    "mirror_twin_relay_refused_total",
    "Bus messages not passed on: undecodable, or about another host than their subject's",
    ["type"],
)

# Live output is not stored anywhere: past this many chunks waiting in this process, NATS drops
# the newest (and counts a slow consumer) instead of letting the twin's memory grow.
OUTPUT_PENDING_LIMIT = 10_000

Publish = Callable[[bytes], None]
Wrap = Callable[[str, bytes], msgspec.Struct]


class ForeignMessageError(ValueError):
    """A payload naming another host (or command) than the subject the server vouched for."""


def _own(subject: str, host_id: str, command_id: str | None = None) -> None:
    """Raise ForeignMessageError unless the payload's host (and command) are the subject's."""
    subject_host = subjects.host_id_from_subject(subject)
    if host_id != subject_host:
        raise ForeignMessageError(
            f"host_id: the payload names host {host_id!r} but was published on {subject!r}"
        )
    if command_id is not None and not subject.endswith(f".{command_id}"):
        raise ForeignMessageError(
            f"command_id: the payload names command {command_id!r} but was published on {subject!r}"
        )


def _alert(subject: str, data: bytes) -> msgspec.Struct:
    event = codec.decode_alert_event(data)
    _own(subject, event.host_id)
    return AlertMessage(event=event)


def _status(subject: str, data: bytes) -> msgspec.Struct:
    status = codec.decode_command_status(data)
    _own(subject, status.host_id)
    return CommandStatusMessage(status=status)


def _result(subject: str, data: bytes) -> msgspec.Struct:
    result = codec.decode_command_result(data)
    _own(subject, result.host_id)
    return CommandResultMessage(result=result)


def _output(subject: str, data: bytes) -> msgspec.Struct:
    chunk = codec.decode_output_chunk(data)
    _own(subject, chunk.host_id, chunk.command_id)
    return CommandOutputMessage(chunk=chunk)


def _refuse(kind: str, reason: str, subject: str, exc: Exception) -> None:
    REFUSED.labels(kind).inc()
    REJECTED.labels(consumer=f"twin-relay-{kind}", reason=reason).inc()
    log.warning("relay.refused", subject=subject, reason=reason, detail=str(exc))


class BusRelay:
    """Follows ALERTS, COMMAND_RESULTS and ``commands.output.>`` and publishes each message."""

    def __init__(self, nc: nats.aio.client.Client, publish: Publish) -> None:
        self.nc = nc
        self.publish = publish
        self._subscriptions: list[nats.aio.subscription.Subscription] = []

    async def start(self) -> None:
        """Start following; only what is published from now on is passed on."""
        js = self.nc.jetstream()
        for subject, kind, wrap in (
            (subjects.ALERTS_EVENTS_ALL, "alert", _alert),
            (subjects.COMMANDS_STATUS_ALL, "command_status", _status),
            (subjects.COMMANDS_RESULT_ALL, "command_result", _result),
        ):
            self._subscriptions.append(
                await js.subscribe(
                    subject,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW,
                    cb=self._relay(kind, wrap),
                )
            )
        self._subscriptions.append(
            await self.nc.subscribe(
                subjects.COMMANDS_OUTPUT_ALL,
                cb=self._relay("command_output", _output),
                pending_msgs_limit=OUTPUT_PENDING_LIMIT,
            )
        )

    def _relay(self, kind: str, wrap: Wrap) -> Callable[[Msg], Awaitable[None]]:
        async def relay(msg: Msg) -> None:
            try:
                message = wrap(msg.subject, msg.data)
            except ForeignMessageError as exc:
                _refuse(kind, "host_mismatch", msg.subject, exc)
                return
            except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                _refuse(kind, "invalid_message", msg.subject, exc)
                return
            RELAYED.labels(kind).inc()
            self.publish(codec.encode(message))

        return relay

    async def stop(self) -> None:
        """Stop following."""
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except nats.errors.Error as exc:
                log.warning(
                    "relay.unsubscribe_failed", subject=subscription.subject, error=str(exc)
                )
        self._subscriptions = []
