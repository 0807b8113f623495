"""TwinEngine: follows METRICS into the TwinState and broadcasts coalesced diffs."""

import asyncio
import contextlib
import gc
import time
from datetime import UTC, datetime

import nats.aio.client
import nats.aio.subscription
import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from mirror_runtime.deadletter import REJECTED
from mirror_runtime.heap import settle_heap
from mirror_runtime.periodic import every
from mirror_schema import codec, streams, subjects
from mirror_schema.admission import SampleRefusedError, admit_sample
from mirror_schema.backoff import Backoff
from mirror_twin.broadcast import Broadcaster
from mirror_twin.checkpoint import CheckpointRound, CheckpointStore, StreamPosition, resume_from
from mirror_twin.config import TwinConfig
from mirror_twin.metrics import (
    CHECKPOINTS,
    CLIENTS,
    DIFFS_SENT,
    SAMPLES_APPLIED,
    SAMPLES_REFUSED,
    SKIPS_TO_LATEST,
)
from mirror_twin.model.twin_state import TwinState
from mirror_twin.placements import PlacementBody, PlacementStore
from mirror_twin.relay import BusRelay
from mirror_twin.writer import CheckpointWriter

log = structlog.get_logger()


# Samples applied between two turns given to the rest of the event loop.
YIELD_EVERY = 200
# A skip to every host's latest sample that the bus refuses is tried again after this, then
# after longer waits up to the cap.
SKIP_RETRY_SECONDS = 1.0
SKIP_RETRY_CAP_SECONDS = 10.0


class TwinEngine:
    """The live twin of one replica: its own ordered consumer, so every replica sees it all."""

    def __init__(self, nc: nats.aio.client.Client, config: TwinConfig) -> None:
        self.nc = nc
        self.config = config
        self.state = TwinState(config.twin_id, config.status_policy)
        self.broadcaster = Broadcaster(queue_size=config.client_queue_size, snapshot=self.snapshot)
        self.placements = PlacementStore(nc.jetstream())
        self.checkpoints = CheckpointStore(nc)
        self.checkpoint_writer = CheckpointWriter(nc.jetstream())
        self.relay = BusRelay(nc, self.broadcaster.publish)
        # The METRICS sequence the state is up to date with; None while the first delivery of
        # every host's latest sample is still under way (those come out of sequence order).
        self.stream_seq: int | None = None
        self._highest_seq = 0
        self._stream_created: datetime | None = None  # of the METRICS followed
        self._saved_seq: int | None = None
        self._round: CheckpointRound | None = None
        self._next_round_at = 0.0
        self._applied = 0
        self._subscription: nats.aio.subscription.Subscription | None = None
        self._skipping: asyncio.Task[None] | None = None  # a skip to the latest under way
        self._skipped_at = 0.0  # event loop time of the last skip
        # The stream's last sequence when the consumer was made: what comes after it is live.
        self._live_after_seq = 0
        self._stopping = asyncio.Event()
        self.follow_failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._writing: asyncio.Task[None] | None = None  # holds the checkpoint's lease

    def snapshot(self) -> bytes:
        """The whole twin as an encoded frame."""
        return codec.encode(self.state.snapshot(datetime.now(UTC)))

    async def on_sample(self, msg: Msg) -> None:
        """Apply one sample; a malformed one is counted and skipped (the history dead-letters)."""
        metadata = msg.metadata
        seq = metadata.sequence.stream
        self._highest_seq = max(self._highest_seq, seq)
        # Every host's latest sample as of the consumer's making comes before anything newer
        # (the server sends them in sequence order): past that point the state is up to date.
        if metadata.num_pending == 0 or self.stream_seq is not None or seq > self._live_after_seq:
            self.stream_seq = self._highest_seq
        try:
            # The subject's host, which the server vouched for, never the payload's claim.
            sample = admit_sample(msg.subject, msg.data, received_at=metadata.timestamp)
            self.state.apply(sample, datetime.now(UTC))
        except SampleRefusedError as exc:
            self._refuse(msg, exc.reason, exc.detail)
            return
        except ValueError as exc:
            self._refuse(msg, "invalid_sample", str(exc))
            return
        SAMPLES_APPLIED.inc()
        self._applied += 1
        if self._applied % YIELD_EVERY == 0:
            self._skip_if_behind(seq, metadata.num_pending, metadata.timestamp)
            # nats-py runs a backlog's callbacks back to back without giving the event loop a
            # turn: after a restart, HTTP and the sockets would wait for the whole replay.
            await asyncio.sleep(0)

    def _skip_if_behind(self, seq: int, pending: int, stored_at: datetime) -> None:
        """Under a load the twin cannot keep up with: once the sample just applied is more
        than max_lag_seconds old and more samples wait than there are hosts, follow the
        stream again from every host's latest sample (in the background: this runs in the
        callback of the subscription it replaces). Never while the consumer is still
        delivering what the stream held when it was made (every host's latest, old as some
        may be, or a restart's replay), nor twice within max_lag_seconds."""
        now = asyncio.get_running_loop().time()
        if (
            self._stopping.is_set()
            or self._skipping is not None
            or seq <= self._live_after_seq
            or now - self._skipped_at < self.config.max_lag_seconds
            or pending <= self.state.host_count()
        ):
            return
        lag = (datetime.now(UTC) - stored_at).total_seconds()
        if lag <= self.config.max_lag_seconds:
            return
        log.warning("twin.skipping_to_latest", lag_seconds=round(lag, 1), pending=pending)
        SKIPS_TO_LATEST.inc()
        self._skipped_at = now
        self._skipping = asyncio.create_task(self.skip_to_latest())

    async def skip_to_latest(self) -> None:
        """Follow METRICS again from every host's latest sample, retrying while the bus does
        not answer (the twin follows nothing meanwhile): a twin cut off at that moment must
        not stay without samples. Each failed attempt is counted in `follow_failures`."""
        backoff = Backoff(first=SKIP_RETRY_SECONDS, cap=SKIP_RETRY_CAP_SECONDS)
        try:
            while not self._stopping.is_set():
                try:
                    await self._follow(DeliverPolicy.LAST_PER_SUBJECT)
                    return
                except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
                    self.follow_failures += 1
                    delay = backoff.next()
                    log.warning("twin.follow_failed", error=repr(exc), retry_in=delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            self._skipping = None

    def _refuse(self, msg: Msg, reason: str, detail: str) -> None:
        # Counted, not dead-lettered: the history's consumer dead-letters the same message.
        SAMPLES_REFUSED.inc()
        REJECTED.labels(consumer="twin", reason=reason).inc()
        log.warning("sample.refused", subject=msg.subject, reason=reason, detail=detail)

    async def start(self) -> None:
        """Restore the checkpoint, then follow the stream from where it left off."""
        js = self.nc.jetstream()
        await self.placements.open(self._apply_placement)
        await self.checkpoints.open()
        began = time.perf_counter()
        # Tens of thousands of long-lived objects at once: the collector would walk the growing
        # heap again and again, tripling the time to the first frame.
        gc.disable()
        try:
            checkpoint = await self.checkpoints.load()
            loaded = time.perf_counter()
            now = datetime.now(UTC)
            for host in checkpoint.hosts:
                self.state.restore(host.latest, host.previous, now)
        finally:
            gc.enable()
        restored = time.perf_counter()
        # The twin holds every host's samples for as long as it runs (see mirror_runtime.heap).
        settle_heap()
        self.state.take_unsaved()  # restored hosts are saved already
        self._next_round_at = asyncio.get_running_loop().time() + (
            self.config.checkpoint_interval_seconds
        )
        info = await js.stream_info(streams.METRICS.name)
        saved_seq = checkpoint.stream_seq
        if checkpoint.stream_created not in (None, info.created):
            saved_seq = None  # of a METRICS deleted since: its sequences mean nothing here
        start_seq = resume_from(
            saved_seq,
            info.state.first_seq,
            info.state.last_seq,
            self.config.max_replay_samples,
        )
        if start_seq is not None:
            self.stream_seq = self._highest_seq = start_seq - 1
        log.info(
            "twin.resuming",
            restored_hosts=len(checkpoint.hosts),
            load_seconds=round(loaded - began, 3),
            restore_seconds=round(restored - loaded, 3),
            saved_seq=checkpoint.stream_seq,
            start_seq=start_seq,
            last_seq=info.state.last_seq,
        )
        await self.relay.start()
        if start_seq is None:
            await self._follow(DeliverPolicy.LAST_PER_SUBJECT)
        else:
            await self._follow(DeliverPolicy.BY_START_SEQUENCE, start_seq)
        self._tasks = [
            asyncio.create_task(every(self.config.diff_interval_seconds, self._tick)),
            asyncio.create_task(every(self.config.sweep_interval_seconds, self._sweep)),
            asyncio.create_task(every(self.config.diff_interval_seconds, self._checkpoint)),
        ]
        self._writing = asyncio.create_task(self.checkpoint_writer.run(), name="twin-writer")

    async def _follow(self, policy: DeliverPolicy, start_seq: int | None = None) -> None:
        """Follow METRICS with an ordered consumer of its own, replacing the one before:
        from `start_seq`, or from every host's latest sample (no position is saved until they
        are all in: each host's older samples are skipped)."""
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
        if policy == DeliverPolicy.LAST_PER_SUBJECT:
            self.stream_seq = None
        self._subscription = None
        js = self.nc.jetstream()
        info = await js.stream_info(streams.METRICS.name)
        self._live_after_seq = info.state.last_seq
        self._stream_created = info.created
        config = ConsumerConfig(deliver_policy=policy, opt_start_seq=start_seq)
        self._subscription = await js.subscribe(
            subjects.METRICS_RAW_ALL, ordered_consumer=True, config=config, cb=self.on_sample
        )

    def _apply_placement(self, host_id: str, placement: PlacementBody) -> None:
        self.state.set_placement(host_id, placement.layer, placement.position)

    async def _sweep(self) -> None:
        self.state.sweep(datetime.now(UTC))

    async def _tick(self) -> None:
        diff = self.state.take_diff(self.state.seq + 1, datetime.now(UTC))
        CLIENTS.set(len(self.broadcaster.clients))
        if diff is not None:
            DIFFS_SENT.inc()
            self.broadcaster.publish(codec.encode(diff))

    def _start_round(self, ticks: int) -> CheckpointRound | None:
        """A round over the hosts changed since the last; None when there is nothing to save."""
        if self.stream_seq is None:  # the first delivery is not complete: no position to save
            return None
        host_ids = self.state.take_unsaved()
        if not host_ids and self.stream_seq == self._saved_seq:
            return None
        return CheckpointRound(host_ids, self.stream_seq, ticks)

    def _may_write(self) -> bool:
        """Whether this replica writes the checkpoint now (writer.py); a round under way when
        it may not is given up, its hosts kept for the next."""
        if self.checkpoint_writer.may_write(self.stream_seq):
            return True
        if self._round is not None:
            self.state.keep_unsaved(self._round.rest())
            self._round = None
        return False

    async def _checkpoint(self) -> None:
        """On every tick, a slice of the current round; a new round every checkpoint interval."""
        if not self._may_write():
            return
        now = asyncio.get_running_loop().time()
        if self._round is None and now >= self._next_round_at:
            self._next_round_at = now + self.config.checkpoint_interval_seconds
            # Spread over half the interval, so a round ends well before the next begins.
            ticks = self.config.checkpoint_interval_seconds / 2 / self.config.diff_interval_seconds
            self._round = self._start_round(int(ticks))
        if self._round is not None and await self._write(self._round, self._round.next_slice()):
            self._round = None

    async def _write(self, round_: CheckpointRound, host_ids: list[str]) -> bool:
        """Write ``host_ids`` of ``round_``, and its position once it is done; whether it is over.

        A failure ends the round; its hosts are saved in the next one. A position the bucket
        holds already, or a further one, is left as it is.
        """
        held = [(host_id, self.state.held(host_id)) for host_id in host_ids]
        position = StreamPosition(
            stream_seq=round_.stream_seq,
            saved_at=datetime.now(UTC),
            stream_created=self._stream_created,
        )
        try:
            await self.checkpoints.write_hosts([(h, *pair) for h, pair in held if pair is not None])
            await self.checkpoints.delete_hosts([h for h, pair in held if pair is None])
            if round_.pending:
                return False
            moved = await self.checkpoints.advance_position(position)
        except asyncio.CancelledError:
            self.state.keep_unsaved(host_ids + round_.pending)
            raise
        except (nats.errors.Error, TimeoutError) as exc:
            CHECKPOINTS.labels("failed").inc()
            self.state.keep_unsaved(host_ids + round_.pending)
            log.warning("checkpoint.failed", error=str(exc))
            return True
        self._saved_seq = round_.stream_seq
        CHECKPOINTS.labels("saved" if moved else "position_kept").inc()
        return True

    async def save_checkpoint(self) -> None:
        """Finish the round under way, then save everything changed since, at once: if this
        replica writes the checkpoint now."""
        if not self._may_write():
            return
        if self._round is not None:
            await self._write(self._round, self._round.rest())
            self._round = None
        last = self._start_round(ticks=1)
        if last is not None:
            await self._write(last, last.rest())

    async def stop(self) -> None:
        """Stop following and broadcasting, and save a last checkpoint."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        # A skip under way ends with its subscription made (then unsubscribed below), or
        # sees `_stopping` before its next attempt: never a subscription left behind.
        self._stopping.set()
        if self._skipping is not None:
            await self._skipping
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
        await self.relay.stop()
        await self.save_checkpoint()
        if self._writing is not None:  # the lease handed over once the last save is done
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writing
            self._writing = None
        await self.placements.close()
