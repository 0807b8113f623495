"""BusRelay: alert events and command status, results and output, passed on to every browser.

The HUD keeps one WebSocket; what the alerts and commands services publish reaches it through
here, as it happens (from now on: the whole record is in those services' APIs).
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
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
from mirror_twin.metrics import RELAY_REFUSED, RELAYED, THROTTLED

log = structlog.get_logger()


# Live output is not stored anywhere: past this many chunks waiting in this process, NATS drops
# the newest (and counts a slow consumer) instead of letting the twin's memory grow.
OUTPUT_PENDING_LIMIT = 10_000
# nats-server has no rate limit per subject, so live output (core NATS) is bounded where it
# lands: per host, a token bucket of OUTPUT_BURST_CHUNKS refilled at OUTPUT_CHUNKS_PER_SECOND;
# past it, chunks are dropped (counted) before they are even decoded. An agent sends at most
# one chunk per stream every 100 ms of each command (20/s), 4 commands at once by default
# (80/s), and when a command ends what is left of its output at once (at most 2 x 512 KiB in
# 16 KiB chunks: 64). A dropped chunk is only missing from the live view: the result carries
# the captured output.
OUTPUT_CHUNKS_PER_SECOND = 100.0
OUTPUT_BURST_CHUNKS = 256
# A chunk costs one token, and one more per OUTPUT_TOKEN_BYTES of payload: an agent's chunk
# (16 KiB of text) costs one, a flood of 1 MiB messages 33 each.
OUTPUT_TOKEN_BYTES = 32 * 1024
# Buckets kept (a host's is forgotten, which is a full one, once this many others spoke since).
OUTPUT_HOSTS_TRACKED = 10_000

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
    RELAY_REFUSED.labels(kind).inc()
    REJECTED.labels(consumer=f"twin-relay-{kind}", reason=reason).inc()
    log.warning("relay.refused", subject=subject, reason=reason, detail=str(exc))


class HostRate:
    """A token bucket per host, at most `max_hosts` of them: memory bounded however many
    hosts speak (the least recently heard one is forgotten first)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_hosts: int = OUTPUT_HOSTS_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_hosts = max_hosts
        self.clock = clock
        # host -> (tokens left, when counted, whether it is being throttled); oldest first.
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()

    def allow(self, host: str, cost: float = 1.0) -> bool:
        """Whether `host` may send something of `cost` tokens now (they are then taken)."""
        now = self.clock()
        tokens, then, throttled = self._buckets.pop(host, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        elif not throttled:
            log.warning("relay.output_throttled", host_id=host, per_second=self.rate)
        self._buckets[host] = (tokens, now, not allowed)
        if len(self._buckets) > self.max_hosts:
            self._buckets.popitem(last=False)
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)


class BusRelay:
    """Follows ALERTS, COMMAND_RESULTS and ``commands.output.>`` and publishes each message."""

    def __init__(self, nc: nats.aio.client.Client, publish: Publish) -> None:
        self.nc = nc
        self.publish = publish
        self._subscriptions: list[nats.aio.subscription.Subscription] = []
        self.output_rate = HostRate(OUTPUT_CHUNKS_PER_SECOND, OUTPUT_BURST_CHUNKS)

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
                cb=self._throttled(self._relay("command_output", _output)),
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

    def _throttled(
        self, relay: Callable[[Msg], Awaitable[None]]
    ) -> Callable[[Msg], Awaitable[None]]:
        """`relay` for as much live output as each host's rate allows (the host is the
        subject's, which the server vouched for); the rest dropped and counted."""

        async def throttled(msg: Msg) -> None:
            host = msg.subject.split(".", 3)[2] if msg.subject.count(".") >= 2 else ""
            if self.output_rate.allow(host, 1 + len(msg.data) // OUTPUT_TOKEN_BYTES):
                await relay(msg)
            else:
                THROTTLED.labels("command_output").inc()

        return throttled

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
