"""HistoryWriter: the durable `history` consumer that writes METRICS into PostgreSQL in batches."""

import asyncio
import contextlib
import enum
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Final

import asyncpg
import msgspec
import nats.aio.client
import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from mirror_ingest import store
from mirror_ingest.metrics import CONSUMER_LAG, ROWS_WRITTEN, SAMPLES_CONSUMED
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.rows import SampleRow, sample_day, sample_row
from mirror_runtime.deadletter import REJECTED, dead_letter
from mirror_runtime.periodic import every
from mirror_runtime.pull import BatchPuller
from mirror_schema import streams, subjects
from mirror_schema.admission import SampleRefusedError, admit_sample
from mirror_schema.backoff import Backoff

log = structlog.get_logger()

MAX_DELIVER: Final = 10
FETCH_TIMEOUT_SECONDS: Final = 1.0
LAG_REFRESH_SECONDS: Final = 1.0
ROLLUP_FLUSH_SECONDS: Final = 1.0
HOUR_FLUSH_SECONDS: Final = 10.0
PARTITION_MAINTENANCE_SECONDS: Final = 3600.0
# A try every few seconds at most while PostgreSQL is away: the history catches up soon after
# it is back, and trying costs nothing (a refused connection).
MAX_BACKOFF_SECONDS: Final = 5.0

# Errors that another attempt may not meet: the server or the connection is in trouble.
TRANSIENT: Final = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.TooManyConnectionsError,
)
# Errors a row's own content causes: the same rows will fail the same way every time.
DATA_ERRORS: Final = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.CharacterNotInRepertoireError,
    OverflowError,
    ValueError,
)


class Verdict(enum.Enum):
    """What happens to a message once its batch has been tried."""

    ACK = "ack"
    RETRY = "retry"
    DEAD = "dead"


class FetchedSample(msgspec.Struct, kw_only=True):
    """One fetched message and, once decoded and admitted, its row."""

    msg: Msg
    row: SampleRow | None = None
    reason: str = ""
    label: str = "unprocessable"  # the reason's label in mirror_rejected_total


class HistoryWriter:
    """Pulls METRICS in batches, writes them with COPY, acks after commit; replicas share it."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        pool: asyncpg.Pool,
        *,
        batch_size: int,
        stream: str = streams.METRICS.name,
        durable: str = streams.CONSUMER_HISTORY,
        subject_filter: str = subjects.METRICS_RAW_ALL,
        subject_prefix: str = "",
        retention_days: int = 30,
        ack_wait: float = 60.0,
        lanes: int = 3,
    ) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.pool = pool
        self.batch_size = batch_size
        self.stream = stream
        self.durable = durable
        self.subject_filter = subject_filter
        self.subject_prefix = subject_prefix
        self.retention_days = retention_days
        self.ack_wait = ack_wait
        # Lanes pull and write concurrently, like replicas: one decodes while another's batch
        # is in PostgreSQL. Writes of one host still serialise on its advisory lock.
        self.lanes = lanes
        self._lag = 0
        self._lag_at = 0.0
        self._days: set[date] = set()
        # After a failed write the lane pauses, holding its batch; a batch handed back (a
        # stop, a dead letter that could not be written) comes back after twice that: both
        # grow with the failures in a row, the same for every lane.
        self._pause = Backoff(first=0.5, cap=min(MAX_BACKOFF_SECONDS, ack_wait / 2))
        self._redelivery = Backoff(first=1.0, cap=MAX_BACKOFF_SECONDS)
        self._stop = asyncio.Event()  # run()'s, once it runs

    def failed_writes(self) -> int:
        """Writes failed in a row for PostgreSQL's absence (0 once one succeeds)."""
        return self._pause.failures

    def lag(self) -> int:
        """Messages in the stream not yet delivered to this consumer, as last seen."""
        return self._lag

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished first (or, with
        PostgreSQL away, handed back)."""
        self._stop = stop
        self._days = await partitions.maintain(self.pool, datetime.now(UTC), self.retention_days)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=MAX_DELIVER,
            ack_wait=self.ack_wait,
            max_ack_pending=max(10 * self.batch_size, 10_000),
        )
        # pull_subscribe creates (or checks) the durable consumer; the lanes pull on their own.
        await (
            await self.js.pull_subscribe(
                self.subject_filter, durable=self.durable, stream=self.stream, config=config
            )
        ).unsubscribe()
        subs = [BatchPuller(self.nc, self.stream, self.durable) for _ in range(self.lanes)]
        for sub in subs:
            await sub.start()
        tasks = [asyncio.create_task(self._lane(sub, stop)) for sub in subs]
        tasks += [
            asyncio.create_task(every(seconds, job, stop, transient=TRANSIENT))
            for seconds, job in (
                (ROLLUP_FLUSH_SECONDS, self._flush_minutes),
                (HOUR_FLUSH_SECONDS, self._flush_hours),
                (PARTITION_MAINTENANCE_SECONDS, self._maintain),
            )
        ]
        try:
            # A lane ends only when stop is set, or with an error that should surface.
            await asyncio.gather(*tasks[: self.lanes])
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for sub in subs:
                with contextlib.suppress(nats.errors.Error):
                    await sub.close()

    async def _lane(self, sub: BatchPuller, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                fetching = asyncio.create_task(sub.fetch(self.batch_size, FETCH_TIMEOUT_SECONDS))
                # A stop does not wait for a fetch: what it had pulled is redelivered after
                # ack_wait, unacknowledged and so not lost.
                await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetching.done():
                    fetching.cancel()
                    await asyncio.gather(fetching, return_exceptions=True)
                    return
                msgs = fetching.result()
                if msgs:
                    await self.handle(msgs)
                await self._refresh_lag()
        finally:
            stopping.cancel()

    async def handle(self, msgs: Sequence[Msg]) -> None:
        """Decode, admit and write one fetched batch, then settle every message in it."""
        now = datetime.now(UTC)
        pending = [self._prepare(msg, now) for msg in msgs]
        rejected = [p for p in pending if p.row is None]
        for p in rejected:
            await self._settle(p, Verdict.DEAD)
        writable = [p for p in pending if p.row is not None]
        await self._ensure_partitions(writable, now)
        await self._write(writable)

    def _prepare(self, msg: Msg, now: datetime) -> FetchedSample:
        try:
            # The subject's host, which the server vouched for, never the payload's claim.
            sample = admit_sample(
                msg.subject,
                msg.data,
                received_at=msg.metadata.timestamp,
                subject_prefix=self.subject_prefix,
            )
        except SampleRefusedError as exc:
            return FetchedSample(msg=msg, reason=exc.detail, label=exc.reason)
        refusal = partitions.admission_error(sample.timestamp, now, self.retention_days)
        if refusal is not None:
            return FetchedSample(msg=msg, reason=refusal, label="outside_retention")
        assert sample.host_id is not None  # admit_sample sets it
        return FetchedSample(msg=msg, row=sample_row(sample, sample.host_id))

    async def _ensure_partitions(self, items: Sequence[FetchedSample], now: datetime) -> None:
        # Admitted samples lie within retention and the horizon: a missing day (a late sample
        # from before this service ran) is created on demand, never sent to a DEFAULT partition.
        missing = {sample_day(p.row[1]) for p in items if p.row is not None} - self._days
        if missing:
            try:
                await partitions.create_days(self.pool, missing)
                self._days |= missing
            except TRANSIENT as exc:
                log.warning("history.partition_create_failed", error=str(exc))

    async def _write(self, items: Sequence[FetchedSample]) -> None:
        """Write `items` in one transaction; on a data error, bisect to find the bad rows.

        While PostgreSQL is unavailable the batch is held, not handed back: it is tried again
        after a pause (growing with the failures in a row), the messages kept from redelivery,
        so an outage of any length spends none of a message's MAX_DELIVER deliveries (handed
        back each time, an outage of minutes sent acknowledged samples to the dead letters).
        Only a stop hands a held batch back.
        """
        if not items:
            return
        rows = [p.row for p in items if p.row is not None]
        while True:
            try:
                async with self.pool.acquire() as conn:
                    new = await store.write_batch(conn, rows)
                break
            except TRANSIENT as exc:
                log.warning("history.write_failed", error=str(exc), batch=len(items))
                if not await self._hold(items):
                    for p in items:
                        p.reason = f"PostgreSQL unavailable: {exc}"
                        await self._settle(p, Verdict.RETRY)
                    return
            except DATA_ERRORS as exc:
                if len(items) == 1:
                    items[0].reason = f"PostgreSQL refused the row: {type(exc).__name__}: {exc}"
                    await self._settle(items[0], Verdict.DEAD)
                    return
                middle = len(items) // 2
                await self._write(items[:middle])
                await self._write(items[middle:])
                return
        self._pause.reset()
        ROWS_WRITTEN.inc(new)
        for p in items:
            await self._settle(p, Verdict.ACK)

    async def _hold(self, items: Sequence[FetchedSample]) -> bool:
        """Pause before the next try, the messages still ours; False once stopping."""
        for p in items:
            with contextlib.suppress(nats.errors.Error):
                await p.msg.in_progress()  # the pause is shorter than ack_wait
        try:
            await asyncio.wait_for(self._stop.wait(), self._pause.next())
        except TimeoutError:
            return True
        return False

    async def _settle(self, p: FetchedSample, verdict: Verdict) -> None:
        """The one place a message is acked, nakked or dead-lettered and terminated."""
        msg = p.msg
        if verdict is Verdict.RETRY and msg.metadata.num_delivered >= MAX_DELIVER:
            p.reason = f"gave up after {MAX_DELIVER} deliveries: {p.reason}"
            verdict = Verdict.DEAD
        try:
            if verdict is Verdict.ACK:
                await msg.ack()
                SAMPLES_CONSUMED.inc()
            elif verdict is Verdict.RETRY:
                await msg.nak(delay=self._delay())
            elif await dead_letter(
                self.js,
                msg,
                p.reason,
                consumer=self.durable,
                subject_prefix=self.subject_prefix,
            ):
                REJECTED.labels(consumer=self.durable, reason=p.label).inc()
                await msg.term()
            else:
                await msg.nak(delay=self._delay())
        except nats.errors.Error as exc:
            # The ack wait runs out and the message comes back; the unique key absorbs it.
            log.warning("history.settle_failed", verdict=verdict.value, error=str(exc))

    def _delay(self) -> float:
        return self._redelivery.delay(self._pause.failures + 1)

    async def _refresh_lag(self) -> None:
        if time.monotonic() - self._lag_at < LAG_REFRESH_SECONDS:
            return
        self._lag_at = time.monotonic()
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("history.lag_unknown", error=str(exc))
            return
        self._lag = info.num_pending or 0
        CONSUMER_LAG.set(self._lag)

    async def _flush_minutes(self) -> None:
        await rollups.flush_minutes(self.pool)

    async def _flush_hours(self) -> None:
        await rollups.flush_hours(self.pool)

    async def _maintain(self) -> None:
        self._days = await partitions.maintain(self.pool, datetime.now(UTC), self.retention_days)
