"""Versioned, idempotent schema migrations of the metric history, applied at start-up."""

from typing import Final

import asyncpg
import structlog

from mirror_runtime import migrations
from mirror_runtime.migrations import LOCK_CLASS, Migration
from mirror_runtime.pg import Conn

__all__ = ["COMPONENT", "LOCK_CLASS", "MIGRATIONS", "migrate"]

log = structlog.get_logger()

COMPONENT: Final = "history"

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
    """Apply the history's migrations this database lacks; their versions (maybe none)."""
    return await migrations.migrate(pool, COMPONENT, MIGRATIONS, after=_note_timescaledb)


async def _note_timescaledb(conn: Conn) -> None:
    if await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ):
        # Native day partitions are what this schema uses; a hypertable would replace
        # partitions.py's work and is left to an operator who chooses TimescaleDB.
        log.info("migration.timescaledb_available", used=False)
