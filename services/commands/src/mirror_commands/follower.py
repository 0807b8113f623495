"""MetricsFollower: an ordered consumer of METRICS that keeps the HostDirectory current.

Every replica follows the whole stream (as the twin does), from the latest sample of every
host, then live. It decodes only the few fields it needs: at 10,000 samples/s a full
MetricSample decode would cost a good part of a core.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from mirror_commands.directory import HostDirectory
from mirror_commands.metrics import SAMPLES_REFUSED, SAMPLES_SEEN
from mirror_runtime.deadletter import REJECTED
from mirror_schema import streams, subjects
from mirror_schema.admission import SampleRefusedError, check_origin
from mirror_schema.common import AwareDatetime
from mirror_schema.errors import SchemaError

log = structlog.get_logger()

YIELD_EVERY: Final = 200


class SampleHead(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a MetricSample the directory needs (the rest is skipped unread)."""

    hostname: str
    timestamp: AwareDatetime
    host_id: str | None = None
    tags: dict[str, str] = {}
    rack: str | None = None
    source: str | None = None


_decode_head: Final = msgspec.json.Decoder(SampleHead).decode


class MetricsFollower:
    """Feeds `directory` from METRICS and tells `on_seen` of every host that publishes."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        directory: HostDirectory,
        on_seen: Callable[[str], None],
    ) -> None:
        self.nc = nc
        self.directory = directory
        self.on_seen = on_seen
        self.caught_up = asyncio.Event()
        self._subscription: nats.aio.subscription.Subscription | None = None
        self._seen = 0

    async def on_sample(self, msg: Msg) -> None:
        """Record one sample's host; a malformed one is counted and skipped."""
        if msg.metadata.num_pending == 0:
            self.caught_up.set()
        try:
            # The subject's host id is the one NATS permissions vouch for.
            host_id = subjects.host_id_from_subject(msg.subject)
            head = _decode_head(msg.data)
            check_origin(msg.subject, host_id, head.host_id, head.timestamp, msg.metadata.timestamp)
        except SampleRefusedError as exc:
            self._refuse(msg, exc.reason, exc.detail)
            return
        except (msgspec.ValidationError, msgspec.DecodeError, SchemaError) as exc:
            self._refuse(msg, "invalid_sample", str(exc))
            return
        # When the server stored it, not the sample's timestamp: a host whose clock is off
        # would otherwise look offline for ever and never get its commands.
        self.directory.observe(
            host_id,
            head.hostname,
            tags=head.tags,
            rack=head.rack,
            seen_at=msg.metadata.timestamp,
            scraped=head.source == "scrape",
        )
        SAMPLES_SEEN.inc()
        self.on_seen(host_id)
        self._seen += 1
        if self._seen % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let HTTP and requests run during a long replay

    def _refuse(self, msg: Msg, reason: str, detail: str) -> None:
        # Counted, not dead-lettered: the history's consumer dead-letters the same message.
        SAMPLES_REFUSED.inc()
        REJECTED.labels(consumer="commands-directory", reason=reason).inc()
        log.warning("sample.refused", subject=msg.subject, reason=reason, detail=detail)

    async def start(self, catch_up_seconds: float) -> None:
        """Subscribe; wait (at most `catch_up_seconds`) for the latest sample of every host."""
        js = self.nc.jetstream()
        info = await js.stream_info(streams.METRICS.name)
        if info.state.messages == 0:
            self.caught_up.set()
        self._subscription = await js.subscribe(
            subjects.METRICS_RAW_ALL,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT),
            cb=self.on_sample,
        )
        try:
            async with asyncio.timeout(catch_up_seconds):
                await self.caught_up.wait()
        except TimeoutError:
            log.warning("directory.catch_up_slow", hosts=len(self.directory))
        log.info("directory.ready", hosts=len(self.directory))

    async def stop(self) -> None:
        """Stop following."""
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
