"""Per-core CPU and GPU figures in the history: stored with each raw row, averaged and maxed in
the 1 m rollups and, weighted by how many values stand behind each minute, in the 1 h rollups;
read back through GET /api/metrics/history at every step. Over a real PostgreSQL."""

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import pytest
import pytest_asyncio
from fastapi import FastAPI

from mirror_ingest import metrics as ingest_metrics
from mirror_ingest import store
from mirror_ingest.endpoints import implementations
from mirror_ingest.migrations import migrate
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.rows import gpu_memory_percent, sample_row
from mirror_runtime.http_door import mount_operations
from mirror_schema.samples import Gpu, MetricSample

# Two whole hours, a sample every 20 s: 180 per hour.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
STEP = timedelta(seconds=20)
SAMPLES = 360


def sample(n: int) -> MetricSample:
    """A host with 4 cores and 2 GPUs; GPU 1 stops reporting its utilization halfway, and
    every 7th sample has no per-core figures (an agent that could not read them)."""
    cores = [float((n * 7 + core * 13) % 100) for core in range(4)]
    gpus = [
        Gpu(
            index=index,
            utilization_percent=None
            if index == 1 and n >= SAMPLES // 2
            else float((n + index) % 90),
            memory_used_bytes=(n % 10 + 1) * 2**30,
            memory_total_bytes=16 * 2**30,
            temperature_celsius=40.0 + (n % 30) + index,
        )
        for index in range(2)
    ]
    return MetricSample(
        hostname="gpu-box",
        host_id="gpu-box",
        timestamp=START + n * STEP,
        cpu_load=sum(cores) / 4,
        cpu_per_core=[] if n % 7 == 0 else cores,
        gpus=gpus,
    )


SAMPLE_LIST = [sample(n) for n in range(SAMPLES)]


@pytest_asyncio.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    """The samples written and rolled up, and a client of the history routes."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=3)
    await migrate(pool)
    await partitions.create_days(pool, {START.date(), datetime.now(UTC).date()})
    async with pool.acquire() as conn:
        await store.write_batch(conn, [sample_row(s, "gpu-box") for s in SAMPLE_LIST])
    await rollups.flush(pool)
    app = FastAPI()
    mount_operations(app, implementations(pool), requests=ingest_metrics.REQUESTS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await pool.close()


async def history(http: httpx.AsyncClient, since: datetime, until: datetime, step: str) -> dict:  # type: ignore[type-arg]
    response = await http.get(
        "/api/metrics/history",
        params={
            "host": "gpu-box",
            "since": since.isoformat(),
            "until": until.isoformat(),
            "step": step,
        },
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def buckets(width: timedelta) -> dict[datetime, list[MetricSample]]:
    out: dict[datetime, list[MetricSample]] = defaultdict(list)
    for s in SAMPLE_LIST:
        offset = (s.timestamp - START) // width
        out[START + offset * width].append(s)
    return out


def avg_max(values: list[float | None]) -> tuple[float | None, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return None, None
    return sum(known) / len(known), max(known)


def close(actual: float | None, expected: float | None) -> bool:
    if expected is None:
        return actual is None
    return actual is not None and abs(actual - expected) < 1e-3 * max(1.0, abs(expected))


async def test_raw_points_carry_each_core_and_gpu(client: httpx.AsyncClient) -> None:
    body = await history(client, START, START + timedelta(minutes=10), "raw")
    points = body["points"]
    assert len(points) == 30
    for point, s in zip(points, SAMPLE_LIST, strict=False):
        assert point["cpu_per_core"] == s.cpu_per_core
        assert set(point["gpus"]) == {"0", "1"}
        for gpu in s.gpus:
            got = point["gpus"][str(gpu.index)]
            assert got["utilization_percent"] == gpu.utilization_percent
            assert close(got["memory_used_percent"], gpu_memory_percent(gpu))
            assert got["temperature_celsius"] == gpu.temperature_celsius


@pytest.mark.parametrize(
    ("step", "width"), [("1m", timedelta(minutes=1)), ("1h", timedelta(hours=1))]
)
async def test_rollups_average_and_max_each_core_and_gpu_figure(
    client: httpx.AsyncClient, step: str, width: timedelta
) -> None:
    """An hour's averages equal the averages over every sample of the hour, not an average of
    the minutes' averages: minutes with fewer figures weigh less."""
    body = await history(client, START, START + timedelta(hours=2), step)
    expected = buckets(width)
    assert [p["timestamp"] for p in body["points"]] == [
        b.isoformat().replace("+00:00", "Z") for b in sorted(expected)
    ]
    for point in body["points"]:
        group = expected[datetime.fromisoformat(point["timestamp"])]
        for core in range(4):
            mean, peak = avg_max([s.cpu_per_core[core] for s in group if s.cpu_per_core])
            assert close(point["cpu_per_core"][core], mean), (point["timestamp"], core)
            assert close(point["cpu_per_core_max"][core], peak)
        figures: dict[str, Callable[[Gpu], float | None]] = {
            "utilization_percent": lambda g: g.utilization_percent,
            "memory_used_percent": gpu_memory_percent,
            "temperature_celsius": lambda g: g.temperature_celsius,
        }
        for index in range(2):
            got = point["gpus"][str(index)]
            for name, read in figures.items():
                mean, peak = avg_max([read(s.gpus[index]) for s in group])
                assert close(got[name], mean), (point["timestamp"], index, name)
                assert close(got[f"{name}_max"], peak), (point["timestamp"], index, name)


async def test_a_gpu_figure_no_sample_reported_is_null_not_zero(
    client: httpx.AsyncClient,
) -> None:
    """GPU 1's utilization stopped halfway: the second hour has none, at both steps."""
    second_hour = START + timedelta(hours=1)
    for step in ("1m", "1h"):
        body = await history(client, second_hour, second_hour + timedelta(hours=1), step)
        assert body["points"]
        for point in body["points"]:
            assert point["gpus"]["1"]["utilization_percent"] is None
            assert point["gpus"]["1"]["utilization_percent_max"] is None
            assert point["gpus"]["1"]["temperature_celsius"] is not None


async def test_rows_without_cores_or_gpus_read_back_empty(database: str) -> None:
    """A sample without the figures (an older agent, or rows from before they were stored)
    gives empty lists and maps at every step, never zeros."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        await migrate(pool)
        await partitions.create_days(pool, {START.date()})
        bare = [
            MetricSample(hostname="old", host_id="old", timestamp=START + n * STEP, cpu_load=5.0)
            for n in range(6)
        ]
        async with pool.acquire() as conn:
            await store.write_batch(conn, [sample_row(s, "old") for s in bare])
        await rollups.flush(pool)
        rows = await pool.fetch(
            "SELECT cpu_per_core_avg, gpus FROM metric_rollup_1m WHERE host_id = 'old'"
        )
        assert rows
        assert all(r["cpu_per_core_avg"] is None and r["gpus"] is None for r in rows)
        records = await store.fetch_rollups(
            pool, "old", START, START + timedelta(hours=1), step="1m", limit=10
        )
        raw = await store.fetch_raw(
            pool, "old", START, START + timedelta(hours=1), limit=10, lookback_seconds=0
        )
    finally:
        await pool.close()
    assert all(r.cpu_per_core_avg is None for r in records)
    assert all(msgspec.structs.asdict(r)["gpu_ids"] is None for r in raw)
