"""History schema: versioned idempotent migrations, day partitions ahead and past retention."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from mirror_ingest import series, store
from mirror_ingest.migrations import COMPONENT, MIGRATIONS, migrate
from mirror_ingest.writing import partitions
from mirror_runtime import migrations


async def test_migrations_apply_once_and_are_recorded(database: str) -> None:
    """A second run applies nothing; schema_migrations lists every version for `history`."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        assert await migrate(pool) == [m.version for m in MIGRATIONS]
        assert await migrate(pool) == []
        rows = await pool.fetch("SELECT component, version FROM schema_migrations ORDER BY version")
        assert [(r["component"], r["version"]) for r in rows] == [
            ("history", m.version) for m in MIGRATIONS
        ]
        strategy = await pool.fetchval(
            "SELECT partstrat::text FROM pg_partitioned_table "
            "WHERE partrelid = 'metric_samples'::regclass"
        )
        assert strategy == "r"
    finally:
        await pool.close()


async def test_version_3_renames_the_rollup_throughput_columns_keeping_rows(database: str) -> None:
    """A history made by versions 1 and 2 (net_*_bps_* columns) keeps its rollups, their throughput
    now under net_*_bytes_per_s_*, in the 1 m table's day partitions too."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        assert await migrations.migrate(pool, COMPONENT, MIGRATIONS[:2]) == [1, 2]
        now = datetime.now(UTC)
        await partitions.create_days(pool, [now.date()])
        for table in ("metric_rollup_1m", "metric_rollup_1h"):
            await pool.execute(
                f"INSERT INTO {table} (host_id, bucket, samples, cpu_load_avg, cpu_load_max, "
                "net_rates, net_rx_bps_avg, net_tx_bps_max) VALUES ('a', $1, 1, 1, 1, 1, 2.5, 7)",
                now,
            )
        assert await migrations.migrate(pool, COMPONENT, MIGRATIONS[:3]) == [3]
        for table in ("metric_rollup_1m", "metric_rollup_1h"):
            row = await pool.fetchrow(
                f"SELECT net_rx_bytes_per_s_avg, net_tx_bytes_per_s_max FROM {table}"
            )
            assert row is not None
            assert (row[0], row[1]) == (2.5, 7)
        old = await pool.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE column_name LIKE '%\\_bps\\_%'"
        )
        assert old == 0
    finally:
        await pool.close()


async def test_version_4_adds_cores_and_gpus_keeping_older_rows_without_them(
    database: str,
) -> None:
    """A history made by versions 1 to 3 keeps its rows; they read back with no per-core or GPU
    figures (empty, not zeros), and new rows store them."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        assert await migrations.migrate(pool, COMPONENT, MIGRATIONS[:3]) == [1, 2, 3]
        now = datetime.now(UTC).replace(microsecond=0)
        await partitions.create_days(pool, [now.date()])
        await pool.execute(
            "INSERT INTO metric_samples (host_id, ts, cpu_load) VALUES ('a', $1, 12.5)", now
        )
        await pool.execute(
            "INSERT INTO metric_rollup_1m (host_id, bucket, samples, cpu_load_avg, cpu_load_max, "
            "net_rates) VALUES ('a', $1, 1, 12.5, 12.5, 0)",
            now,
        )
        assert await migrate(pool) == [4]
        later = now + timedelta(seconds=1)
        raw = await store.fetch_raw(pool, "a", now, later, limit=10, lookback_seconds=0)
        minutes = await store.fetch_rollups(pool, "a", now, later, step="1m", limit=10)
    finally:
        await pool.close()
    [point] = series.raw_points(raw, now)
    assert (point.cpu_load, point.cpu_per_core, point.gpus) == (12.5, [], {})
    [bucket] = series.rollup_points(minutes)
    assert (bucket.cpu_load, bucket.cpu_per_core, bucket.gpus) == (12.5, [], {})


async def test_replicas_starting_together_migrate_once(database: str) -> None:
    """Three replicas migrating at once: exactly one applies each version, none fails."""
    pools = [await asyncpg.create_pool(database, min_size=1, max_size=1) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(p) for p in pools))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in MIGRATIONS]
    finally:
        for p in pools:
            await p.close()


async def test_partitions_exist_ahead_and_expire_past_retention(database: str) -> None:
    """Today and the next days have partitions; a day past retention is dropped with its 1 m
    rollups, and 1 h rollups older than their own retention are pruned."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        await migrate(pool)
        now = datetime.now(UTC)
        old_day = (now - timedelta(days=40)).date()
        kept_day = (now - timedelta(days=29)).date()
        await partitions.create_days(pool, [old_day, kept_day])
        await pool.execute(
            "INSERT INTO metric_rollup_1h (host_id, bucket, samples, cpu_load_avg, "
            "cpu_load_max, net_rates) VALUES ('a', $1, 1, 1, 1, 0), ('a', $2, 1, 1, 1, 0)",
            now - timedelta(days=401),
            now - timedelta(days=10),
        )
        days = await partitions.maintain(pool, now, retention_days=30)
        today = now.date()
        ahead = {today + timedelta(days=n) for n in range(partitions.DAYS_AHEAD + 1)}
        assert ahead <= days
        assert kept_day in days
        assert old_day not in days
        tables = {
            r["relname"]
            for r in await pool.fetch("SELECT relname FROM pg_class WHERE relkind = 'r'")
        }
        assert partitions.partition_name("metric_samples", old_day) not in tables
        assert partitions.partition_name("metric_rollup_1m", old_day) not in tables
        assert partitions.partition_name("metric_rollup_1m", kept_day) in tables
        assert await pool.fetchval("SELECT count(*) FROM metric_rollup_1h") == 1
    finally:
        await pool.close()


def test_admission_refuses_what_no_partition_will_hold() -> None:
    """Past retention or beyond the partitions made ahead is refused with the reason."""
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert partitions.admission_error(now - timedelta(days=29), now, 30) is None
    old = partitions.admission_error(now - timedelta(days=31), now, 30)
    assert old is not None
    assert "older than the 30-day history retention" in old
    ahead = partitions.admission_error(now + timedelta(days=5), now, 30)
    assert ahead is not None
    assert "check the sending host's clock" in ahead
    assert partitions.admission_error(now + timedelta(days=3), now, 30) is None
