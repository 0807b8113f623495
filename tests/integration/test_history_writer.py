"""The history writer: METRICS in JetStream to rows and rollups in PostgreSQL, exactly once."""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import nats.aio.client
import nats.js.errors
import pytest_asyncio

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_ingest import store
from mirror_ingest.migrations import migrate
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.rows import counter_rate, sample_row
from mirror_ingest.writing.writer import HistoryWriter
from mirror_runtime.deadletter import REASON_HEADER
from mirror_schema import streams, subjects
from mirror_schema.samples import Interface, MetricSample
from waiting import wait_until


@contextlib.asynccontextmanager
async def migrated_pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the database at `dsn`, migrated, with yesterday's partition too."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    await migrate(pool)
    now = datetime.now(UTC)
    await partitions.maintain(pool, now, 30)
    await partitions.create_days(pool, [(now - timedelta(days=1)).date()])
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh, migrated database."""
    async with migrated_pool(database) as pool:
        yield pool


@pytest_asyncio.fixture
async def js(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[nats.js.JetStreamContext]:
    """JetStream with this test's own prefixed streams, deleted afterwards (they reserve disk)."""
    context = nc.jetstream()
    names = await streams.ensure_streams(context, prefix=f"T{unique}_", subject_prefix=f"t{unique}")
    yield context
    for name in names:
        await context.delete_stream(name)


def make_writer(
    nc: nats.aio.client.Client, pool: asyncpg.Pool, unique: str, **kwargs: float
) -> HistoryWriter:
    return HistoryWriter(
        nc,
        pool,
        batch_size=int(kwargs.pop("batch_size", 100)),
        stream=f"T{unique}_METRICS",
        subject_filter=f"t{unique}.metrics.raw.>",
        subject_prefix=f"t{unique}",
        **kwargs,
    )


class Running:
    """A writer running as a task until stopped."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(writer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)


def fleet_samples(hosts: int, ticks: int, *, seed: int = 7) -> list[MetricSample]:
    """Simulated samples every 5 s, ending a minute ago."""
    fleet = SimulatedFleet(hosts, seed)
    start = datetime.now(UTC).timestamp() - 60 - 5 * ticks
    return [s for k in range(ticks) for s in fleet.tick(start + 5 * k)]


async def publish(
    js: nats.js.JetStreamContext, unique: str, samples: Iterable[MetricSample], tag: str = ""
) -> None:
    acks = []
    for sample in samples:
        assert sample.host_id is not None
        msg_id = f"{tag}{sample.host_id}:{sample.boot_id}:{sample.seq}:{sample.timestamp}"
        acks.append(
            await js.publish_async(
                f"t{unique}.{subjects.metrics_raw(sample.host_id)}",
                msgspec.json.encode(sample),
                headers={"Nats-Msg-Id": msg_id},
            )
        )
    await asyncio.gather(*acks)


async def row_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM metric_samples"))


async def test_samples_become_rows_and_hosts(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """Every published sample becomes one row; each host is listed with first and last seen."""
    samples = fleet_samples(3, 30)
    await publish(js, unique, samples)
    writer = Running(make_writer(nc, pool, unique))
    try:
        await wait_until(lambda: _rows_are(pool, len(samples)), timeout=30, what="all rows")
        await wait_until(lambda: _consumed(js, unique), timeout=10, what="all acked")
        await wait_until(lambda: writer.writer.lag() == 0, timeout=10, what="lag 0")
    finally:
        await writer.close()
    hosts = {h.host_id: h for h in await store.fetch_hosts(pool)}
    assert set(hosts) == {s.host_id for s in samples}
    first = min(s.timestamp for s in samples if s.host_id == "sim-0000")
    last = max(s.timestamp for s in samples if s.host_id == "sim-0000")
    assert (hosts["sim-0000"].first_seen, hosts["sim-0000"].last_seen) == (first, last)


async def _rows_are(pool: asyncpg.Pool, n: int) -> bool:
    return await row_count(pool) == n


async def test_same_sample_twice_is_one_row(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """A sample stored twice in the stream (different Msg-Ids) is written once."""
    samples = fleet_samples(2, 5)
    await publish(js, unique, samples, tag="a:")
    await publish(js, unique, samples, tag="b:")
    info = await js.stream_info(f"T{unique}_METRICS")
    assert info.state.messages == 2 * len(samples)
    writer = Running(make_writer(nc, pool, unique, batch_size=7))
    try:
        await wait_until(lambda: _consumed(js, unique), timeout=30, what="stream consumed")
    finally:
        await writer.close()
    assert await row_count(pool) == len(samples)


async def _consumed(js: nats.js.JetStreamContext, unique: str) -> bool:
    try:
        info = await js.consumer_info(f"T{unique}_METRICS", streams.CONSUMER_HISTORY)
    except nats.js.errors.NotFoundError:
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_restart_after_commit_without_ack_writes_no_duplicates(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """Rows committed by a writer that died before acking are not written again."""
    samples = fleet_samples(4, 50)
    # As if a writer had committed the first 120 and died before its acks went out.
    async with pool.acquire() as conn:
        assert (
            await store.write_batch(conn, [sample_row(s, s.host_id or "") for s in samples[:120]])
            == 120
        )
    await publish(js, unique, samples)
    writer = Running(make_writer(nc, pool, unique))
    try:
        await wait_until(lambda: _consumed(js, unique), timeout=30, what="stream consumed")
    finally:
        await writer.close()
    assert await row_count(pool) == len(samples)


async def test_writer_cancelled_mid_stream_then_restarted(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """A writer killed mid-stream and restarted leaves rows == distinct samples."""
    samples = fleet_samples(20, 200)
    await publish(js, unique, samples)
    # Small batches: the writer is still mid-stream when the first rows show up.
    first = Running(make_writer(nc, pool, unique, batch_size=10, ack_wait=2.0))
    await wait_until(lambda: _more_than(pool, 0), timeout=30, what="first rows", interval=0.01)
    first.task.cancel()
    await asyncio.gather(first.task, return_exceptions=True)
    assert await row_count(pool) < len(samples)
    second = Running(make_writer(nc, pool, unique, batch_size=500, ack_wait=2.0))
    try:
        await wait_until(lambda: _consumed(js, unique), timeout=60, what="stream consumed")
    finally:
        await second.close()
    assert await row_count(pool) == len({(s.host_id, s.timestamp) for s in samples})


async def _more_than(pool: asyncpg.Pool, n: int) -> bool:
    return await row_count(pool) > n


async def test_undecodable_message_is_dead_lettered_and_writer_moves_on(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """Garbage goes to the prefixed dead-letter subject with its reason; the next sample lands."""
    dead: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()

    async def on_dead(msg: nats.aio.msg.Msg) -> None:
        await dead.put(msg)

    await nc.subscribe(f"t{unique}.deadletter.>", cb=on_dead)
    await js.publish(f"t{unique}.metrics.raw.web-01", b"{not json")
    too_old = fleet_samples(1, 1)[0]
    too_old = msgspec.structs.replace(too_old, timestamp=datetime.now(UTC) - timedelta(days=90))
    await publish(js, unique, [too_old], tag="old:")
    good = fleet_samples(1, 1, seed=3)
    await publish(js, unique, good)
    writer = Running(make_writer(nc, pool, unique))
    try:
        first = await asyncio.wait_for(dead.get(), timeout=20)
        second = await asyncio.wait_for(dead.get(), timeout=20)
        await wait_until(lambda: _rows_are(pool, 1), timeout=20, what="the good row")
    finally:
        await writer.close()
    assert first.subject == f"t{unique}.deadletter.metrics.raw.web-01"
    assert first.data == b"{not json"
    assert first.headers is not None
    assert "not a valid MetricSample" in first.headers[REASON_HEADER]
    assert second.headers is not None
    assert "older than the 30-day history retention" in second.headers[REASON_HEADER]


async def test_rollups_match_the_raw_rows(
    nc: nats.aio.client.Client, js: nats.js.JetStreamContext, pool: asyncpg.Pool, unique: str
) -> None:
    """1 m and 1 h rollups equal avg/max computed from the samples, across a counter reset."""
    samples = fleet_samples(3, 60)
    # sim-0001 reboots at its 30th sample: its interface counters restart near zero.
    mine = [i for i, s in enumerate(samples) if s.host_id == "sim-0001"]
    for i in mine[30:]:
        s = samples[i]
        samples[i] = msgspec.structs.replace(
            s,
            interfaces=[
                msgspec.structs.replace(
                    iface, bytes_recv=iface.bytes_recv // 1000, bytes_sent=iface.bytes_sent // 1000
                )
                for iface in s.interfaces
            ],
        )
    await publish(js, unique, samples)
    writer = Running(make_writer(nc, pool, unique, batch_size=40))
    try:
        await wait_until(lambda: _consumed(js, unique), timeout=30, what="stream consumed")
    finally:
        await writer.close()
    await rollups.flush(pool)

    expected = expected_minutes(samples)
    rows = await pool.fetch("SELECT * FROM metric_rollup_1m")
    assert {(r["host_id"], r["bucket"]) for r in rows} == set(expected)
    reset_seen = False
    for r in rows:
        e = expected[(r["host_id"], r["bucket"])]
        assert r["samples"] == e["samples"]
        assert abs(r["cpu_load_avg"] - e["cpu_avg"]) < 1e-3
        assert abs(r["cpu_load_max"] - e["cpu_max"]) < 1e-3
        interfaces = msgspec.json.decode(r["interfaces"]) if r["interfaces"] else {}
        assert set(interfaces) == set(e["rx"])
        for name, rates in e["rx"].items():
            assert abs(interfaces[name]["rx"] - sum(rates) / len(rates)) < 1e-3 * max([*rates, 1])
            assert abs(interfaces[name]["rx_max"] - max(rates)) < 1e-3 * max([*rates, 1])
            assert interfaces[name]["n"] == len(rates)
        reset_seen |= e["resets"] > 0
    assert reset_seen, "the counter reset must fall inside a checked bucket"

    hours = await pool.fetch("SELECT * FROM metric_rollup_1h")
    by_hour: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for s in samples:
        by_hour[(s.host_id or "", s.timestamp.replace(minute=0, second=0, microsecond=0))].append(
            s.cpu_load
        )
    assert {(h["host_id"], h["bucket"]) for h in hours} == set(by_hour)
    for h in hours:
        cpu = by_hour[(h["host_id"], h["bucket"])]
        assert h["samples"] == len(cpu)
        assert abs(h["cpu_load_avg"] - sum(cpu) / len(cpu)) < 1e-3
        assert abs(h["cpu_load_max"] - max(cpu)) < 1e-3


def expected_minutes(samples: list[MetricSample]) -> dict[tuple[str, datetime], dict]:  # type: ignore[type-arg]
    """What the 1 m rollups must hold, computed in Python from the samples."""
    per_host: dict[str, list[MetricSample]] = defaultdict(list)
    for s in samples:
        per_host[s.host_id or ""].append(s)
    out: dict[tuple[str, datetime], dict] = {}  # type: ignore[type-arg]
    for host, series in per_host.items():
        series.sort(key=lambda s: s.timestamp)
        previous: MetricSample | None = None
        for s in series:
            key = (host, s.timestamp.replace(second=0, microsecond=0))
            e = out.setdefault(key, {"samples": 0, "cpu": [], "rx": defaultdict(list), "resets": 0})
            e["samples"] += 1
            e["cpu"].append(s.cpu_load)
            if previous is not None:
                seconds = (s.timestamp - previous.timestamp).total_seconds()
                before: dict[str, Interface] = {i.name: i for i in previous.interfaces}
                for iface in s.interfaces:
                    old = before.get(iface.name)
                    rate = counter_rate(old and old.bytes_recv, iface.bytes_recv, seconds)
                    if rate is not None:
                        e["rx"][iface.name].append(rate)
                    elif old is not None and iface.bytes_recv < old.bytes_recv:
                        e["resets"] += 1
            previous = s
    for e in out.values():
        e["cpu_avg"] = sum(e["cpu"]) / len(e["cpu"])
        e["cpu_max"] = max(e["cpu"])
        e["rx"] = {k: v for k, v in e["rx"].items() if v}
    return out
