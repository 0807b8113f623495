"""TwinEngine: follows METRICS into the TwinState and broadcasts coalesced diffs."""

import asyncio
import contextlib
from datetime import UTC, datetime

import msgspec
import nats.aio.client
import nats.errors
import prometheus_client
import structlog
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from mirror_schema import codec, subjects
from mirror_twin.broadcast import Broadcaster
from mirror_twin.config import TwinConfig
from mirror_twin.placements import PlacementBody, PlacementStore
from mirror_twin.state import TwinState

log = structlog.get_logger()

SAMPLES_APPLIED = prometheus_client.Counter(
    "mirror_twin_samples_applied_total", "Samples applied to the twin"
)
SAMPLES_REFUSED = prometheus_client.Counter(
    "mirror_twin_samples_refused_total", "Messages on metrics.raw.> that are not valid samples"
)
DIFFS_SENT = prometheus_client.Counter("mirror_twin_diffs_total", "Diffs broadcast")
CLIENTS = prometheus_client.Gauge("mirror_twin_clients", "Connected WebSocket clients")


class TwinEngine:
    """The live twin of one replica: its own ordered consumer, so every replica sees it all."""

    def __init__(self, nc: nats.aio.client.Client, config: TwinConfig) -> None:
        self.nc = nc
        self.config = config
        self.state = TwinState(config.twin_id, config.status_policy)
        self.broadcaster = Broadcaster(queue_size=config.client_queue_size, snapshot=self.snapshot)
        self.placements = PlacementStore(nc.jetstream())
        self._subscription: nats.aio.subscription.Subscription | None = None
        self._ticker: asyncio.Task[None] | None = None

    def snapshot(self) -> bytes:
        """The whole twin as an encoded frame."""
        return codec.encode(self.state.snapshot(datetime.now(UTC)))

    async def on_sample(self, msg: Msg) -> None:
        """Apply one sample; a malformed one is counted and skipped (the history dead-letters)."""
        try:
            sample = codec.decode_sample(msg.data)
            self.state.apply(sample, datetime.now(UTC))
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            SAMPLES_REFUSED.inc()
            log.warning("sample.refused", subject=msg.subject, reason=str(exc))
            return
        SAMPLES_APPLIED.inc()

    async def start(self) -> None:
        """Start from the latest sample of every host, then follow the stream."""
        js = self.nc.jetstream()
        await self.placements.open(self._apply_placement)
        self._subscription = await js.subscribe(
            subjects.METRICS_RAW_ALL,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            cb=self.on_sample,
        )
        self._ticker = asyncio.create_task(self._tick())

    def _apply_placement(self, host_id: str, placement: PlacementBody) -> None:
        self.state.set_placement(host_id, placement.layer, placement.position)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            await asyncio.sleep(self.config.diff_interval_seconds)
            now = datetime.now(UTC)
            if loop.time() >= next_sweep:
                self.state.sweep(now)
                next_sweep = loop.time() + self.config.sweep_interval_seconds
            diff = self.state.take_diff(self.state.seq + 1, now)
            CLIENTS.set(len(self.broadcaster.clients))
            if diff is not None:
                DIFFS_SENT.inc()
                self.broadcaster.publish(codec.encode(diff))

    async def stop(self) -> None:
        """Stop following the stream and broadcasting."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
        await self.placements.close()
