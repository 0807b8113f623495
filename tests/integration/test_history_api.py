"""GET /api/metrics/history and GET /api/hosts over a real PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import pytest_asyncio
from fastapi import FastAPI

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_ingest import metrics as ingest_metrics
from mirror_ingest import store
from mirror_ingest.endpoints import implementations
from mirror_ingest.migrations import migrate
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.rows import sample_row
from mirror_runtime.http_door import mount_operations
from mirror_schema.samples import MetricSample

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest_asyncio.fixture
async def samples_and_client(
    database: str,
) -> AsyncIterator[tuple[list[MetricSample], httpx.AsyncClient]]:
    """Two hosts with 4 hours of samples every 30 s, ending now, and a client of the routes."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=3)
    await migrate(pool)
    start = NOW - timedelta(hours=4)
    await partitions.create_days(pool, {start.date(), NOW.date()})
    fleet = SimulatedFleet(2, seed=5, interval=30)
    samples = [s for k in range(4 * 120 + 1) for s in fleet.tick(start.timestamp() + 30 * k)]
    async with pool.acquire() as conn:
        await store.write_batch(conn, [sample_row(s, s.host_id or "") for s in samples])
    await rollups.flush(pool)
    app = FastAPI()
    mount_operations(app, implementations(pool), requests=ingest_metrics.REQUESTS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield samples, client
    await pool.close()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_last_hour_is_raw_with_rates(
    samples_and_client: tuple[list[MetricSample], httpx.AsyncClient],
) -> None:
    """With no since, the hour before until comes back raw, one point per sample, with rates."""
    samples, client = samples_and_client
    until = NOW + timedelta(seconds=1)
    response = await client.get(
        "/api/metrics/history", params={"host": "sim-0000", "until": iso(until)}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["host"], body["step"]) == ("sim-0000", "raw")
    hour_before = until - timedelta(hours=1)
    mine = [s for s in samples if s.host_id == "sim-0000" and s.timestamp >= hour_before]
    assert len(body["points"]) == len(mine)
    first = body["points"][0]
    assert first["cpu_load"] == mine[0].cpu_load
    assert first["memory_used_percent"] == mine[0].memory_used_percent
    assert first["interfaces"]["eth0"]["rx_bytes_per_s"] is not None
    assert set(first["disks"]) == {d.mountpoint for d in mine[0].disks}
    assert first["temperatures"]["cpu"] == mine[0].temperatures["cpu"]


async def test_longer_ranges_get_rollups(
    samples_and_client: tuple[list[MetricSample], httpx.AsyncClient],
) -> None:
    """Three hours get 1 m points with averages and maxima; a week gets 1 h points."""
    samples, client = samples_and_client
    since = NOW - timedelta(hours=3)
    response = await client.get(
        "/api/metrics/history", params={"host": "sim-0001", "since": iso(since)}
    )
    body = response.json()
    assert body.get("step") == "1m", body
    assert len(body["points"]) in (180, 181)
    point = body["points"][0]
    bucket = datetime.fromisoformat(point["timestamp"].replace("Z", "+00:00"))
    minute = [
        s.cpu_load
        for s in samples
        if s.host_id == "sim-0001" and bucket <= s.timestamp < bucket + timedelta(minutes=1)
    ]
    assert abs(point["cpu_load"] - sum(minute) / len(minute)) < 1e-3
    assert point["cpu_load_max"] == max(minute)
    assert point["samples"] == len(minute)
    assert {"rx_bytes_per_s", "rx_bytes_per_s_max", "tx_bytes_per_s", "tx_bytes_per_s_max"} <= set(
        point["interfaces"]["eth0"]
    )
    assert point["temperatures_max"]["cpu"] >= point["temperatures"]["cpu"]

    week = await client.get(
        "/api/metrics/history",
        params={"host": "sim-0001", "since": iso(NOW - timedelta(days=7))},
    )
    assert week.json().get("step") == "1h", week.json()
    assert sum(p["samples"] for p in week.json()["points"]) == sum(
        1 for s in samples if s.host_id == "sim-0001"
    )

    forced = await client.get(
        "/api/metrics/history",
        params={"host": "sim-0001", "since": iso(NOW - timedelta(days=6)), "step": "1m"},
    )
    assert forced.json().get("step") == "1m", forced.json()
    too_many = await client.get(
        "/api/metrics/history",
        params={"host": "sim-0001", "since": iso(NOW - timedelta(days=7)), "step": "1m"},
    )
    assert too_many.status_code == 422
    assert "limit of 10000" in too_many.json()["detail"]


async def test_unknown_host_is_404_naming_it(
    samples_and_client: tuple[list[MetricSample], httpx.AsyncClient],
) -> None:
    """A host the history never saw gets 404 naming it."""
    _, client = samples_and_client
    response = await client.get("/api/metrics/history", params={"host": "ghost-01"})
    assert response.status_code == 404
    assert "'ghost-01'" in response.json()["detail"]


async def test_bad_parameters_are_422_naming_them(
    samples_and_client: tuple[list[MetricSample], httpx.AsyncClient],
) -> None:
    """Bad since, since after until, an unknown step and a missing host each name the field."""
    _, client = samples_and_client
    cases = [
        ({"host": "sim-0000", "since": "last tuesday"}, "since: "),
        (
            {"host": "sim-0000", "since": iso(NOW), "until": iso(NOW - timedelta(hours=1))},
            "since: ",
        ),
        ({"host": "sim-0000", "step": "5m"}, "step: "),
        ({}, "host: "),
    ]
    for params, prefix in cases:
        response = await client.get("/api/metrics/history", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"].startswith(prefix), response.json()


async def test_hosts_lists_first_and_last_seen(
    samples_and_client: tuple[list[MetricSample], httpx.AsyncClient],
) -> None:
    """GET /api/hosts lists every host with its first and last sample timestamps."""
    samples, client = samples_and_client
    response = await client.get("/api/hosts")
    assert response.status_code == 200
    hosts = {h["host_id"]: h for h in response.json()["hosts"]}
    assert set(hosts) == {"sim-0000", "sim-0001"}
    mine = [s for s in samples if s.host_id == "sim-0000"]
    entry = hosts["sim-0000"]
    assert entry["hostname"] == mine[0].hostname
    assert msgspec.convert(entry["first_seen"], datetime, strict=False) == min(
        s.timestamp for s in mine
    )
    assert msgspec.convert(entry["last_seen"], datetime, strict=False) == max(
        s.timestamp for s in mine
    )
