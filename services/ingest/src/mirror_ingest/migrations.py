"""Versioned, idempotent schema migrations of the metric history, applied at start-up."""

from typing import Final

import asyncpg
import msgspec
import structlog

log = structlog.get_logger()

COMPONENT: Final = "history"
# pg_advisory_lock(key1, key2): key1 names this project's locks, key2 the component.
LOCK_CLASS: Final = 0x4D53  # "MS"
MIGRATION_LOCK: Final = 1


class Migration(msgspec.Struct, frozen=True, kw_only=True):
    """One schema change; applied once, in its own transaction, recorded by version."""

    version: int
    name: str
    sql: str


# Several services may share one database: the table is keyed by component as well as version.
VERSION_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""

# Rollup columns, shared by the 1-minute and the 1-hour tables. jsonb holds per-key figures:
# interfaces {name: {rx, rx_max, tx, tx_max, n}} in bytes/s, disks {mountpoint: max used %},
# temperatures {sensor: {avg, max, n}}; `n` counts the values behind an average so that hours
# can be averaged from minutes exactly.
_ROLLUP_COLUMNS: Final = """
    host_id text NOT NULL,
    bucket timestamptz NOT NULL,
    samples integer NOT NULL,
    cpu_load_avg real NOT NULL,
    cpu_load_max real NOT NULL,
    memory_used_percent_avg real,
    memory_used_percent_max real,
    swap_used_percent_avg real,
    swap_used_percent_max real,
    load_average_avg real,
    load_average_max real,
    net_rx_bps_avg double precision,
    net_rx_bps_max double precision,
    net_tx_bps_avg double precision,
    net_tx_bps_max double precision,
    net_rates integer NOT NULL,
    interfaces jsonb,
    disks jsonb,
    temperatures jsonb,
    PRIMARY KEY (host_id, bucket)
"""

MIGRATIONS: Final = (
    Migration(
        version=1,
        name="metric history: hosts, day-partitioned raw samples, 1 m and 1 h rollups",
        sql=f"""
CREATE TABLE hosts (
    host_id text PRIMARY KEY,
    hostname text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL
);
-- Per-interface, per-disk and per-sensor readings are parallel arrays: smaller than jsonb
-- and written by COPY in binary without any JSON encoding.
CREATE TABLE metric_samples (
    host_id text NOT NULL,
    ts timestamptz NOT NULL,
    cpu_load real NOT NULL,
    memory_used_percent real,
    swap_used_percent real,
    load_average real,
    memory_total_bytes bigint,
    memory_available_bytes bigint,
    net_bytes_tx bigint,
    net_bytes_rx bigint,
    if_names text[],
    if_sent bigint[],
    if_recv bigint[],
    if_speed_mbps real[],
    disk_mounts text[],
    disk_used_percent real[],
    temp_names text[],
    temp_celsius real[],
    PRIMARY KEY (host_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE metric_rollup_1m ({_ROLLUP_COLUMNS}) PARTITION BY RANGE (bucket);
CREATE TABLE metric_rollup_1h ({_ROLLUP_COLUMNS});
CREATE INDEX metric_rollup_1h_bucket ON metric_rollup_1h USING brin (bucket);
-- Buckets whose rows changed since their rollup was last computed (see rollups.py).
CREATE TABLE rollup_pending_1m (
    host_id text NOT NULL,
    bucket timestamptz NOT NULL,
    PRIMARY KEY (host_id, bucket)
);
CREATE TABLE rollup_pending_1h (
    host_id text NOT NULL,
    bucket timestamptz NOT NULL,
    PRIMARY KEY (host_id, bucket)
);
""",
    ),
)


async def migrate(pool: asyncpg.Pool) -> list[int]:
    """Apply the migrations this database lacks; return their versions (empty if none).

    Replicas starting together serialise on an advisory lock, so each migration runs once.
    """
    applied: list[int] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, MIGRATION_LOCK)
        try:
            await conn.execute(VERSION_TABLE)
            done = {
                row["version"]
                for row in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1", COMPONENT
                )
            }
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name) "
                        "VALUES ($1, $2, $3)",
                        COMPONENT,
                        migration.version,
                        migration.name,
                    )
                applied.append(migration.version)
                log.info("migration.applied", component=COMPONENT, version=migration.version)
            if await conn.fetchval(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
            ):
                # Native day partitions are what this schema uses; a hypertable would replace
                # partitions.py's work and is left to an operator who chooses TimescaleDB.
                log.info("migration.timescaledb_available", used=False)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, MIGRATION_LOCK)
    return applied
