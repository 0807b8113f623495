"""Versioned, idempotent schema migrations of the metric history, applied at start-up."""

from typing import Final

import asyncpg
import structlog

from mirror_runtime import migrations
from mirror_runtime.migrations import LOCK_CLASS, Grants, Migration, privileges
from mirror_runtime.pg import Conn

__all__ = ["COMPONENT", "GRANTS", "LOCK_CLASS", "MIGRATIONS", "migrate"]

log = structlog.get_logger()

COMPONENT: Final = "history"

# Rollup columns, shared by the 1-minute and the 1-hour tables. jsonb holds per-key figures:
# interfaces {name: {rx, rx_max, tx, tx_max, n}} in bytes/s, disks {mountpoint: max used %},
# temperatures {sensor: {avg, max, n}}; `n` counts the values behind an average so that hours
# can be averaged from minutes exactly. These are the columns as version 1 made them: version 3
# renamed net_{rx,tx}_bps_{avg,max} to net_{rx,tx}_bytes_per_s_{avg,max}, version 4 added
# per-core CPU and the GPUs.
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
    Migration(
        version=2,
        name="day partitions made and dropped by functions of the schema's owner",
        # Making or dropping a partition needs the ownership of its parent, which would also let
        # the ingest's role alter, drop or hand out its tables. These two functions run as the
        # role that migrated (the owner) and do only that, for the days they may; EXECUTE is
        # the ingest's alone (GRANTS). search_path is pinned: the caller's temp tables never
        # stand in for the history's (pg_catalog, unnamed, comes first).
        sql="""
CREATE FUNCTION history_create_day(day date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
DECLARE
    suffix text := to_char(day, 'YYYYMMDD');
    bounds text := format('FOR VALUES FROM (%L) TO (%L)',
        to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
BEGIN
    IF day > (now() AT TIME ZONE 'UTC')::date + 7 THEN
        RAISE EXCEPTION 'no history partition more than 7 days ahead (%)', day;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF metric_samples %s',
        'metric_samples_p' || suffix, bounds);
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF metric_rollup_1m %s',
        'metric_rollup_1m_p' || suffix, bounds);
END
$fn$;
CREATE FUNCTION history_drop_day(day date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
    IF day >= (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'today''s and later history partitions are kept (%)', day;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I', 'metric_samples_p' || to_char(day, 'YYYYMMDD'));
    EXECUTE format('DROP TABLE IF EXISTS %I', 'metric_rollup_1m_p' || to_char(day, 'YYYYMMDD'));
END
$fn$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION history_create_day(date) SET search_path = %I, pg_temp',
        current_schema());
    EXECUTE format('ALTER FUNCTION history_drop_day(date) SET search_path = %I, pg_temp',
        current_schema());
END
$$;
REVOKE ALL ON FUNCTION history_create_day(date), history_drop_day(date) FROM PUBLIC;
""",
    ),
    Migration(
        version=3,
        name="rollups: units in the throughput columns' names (net_*_bytes_per_s_*)",
        # "bps" read as bits/s elsewhere (the twin's frames); these columns are bytes/s. A
        # rename on the partitioned 1 m table carries to its day partitions.
        sql="""
ALTER TABLE metric_rollup_1m RENAME COLUMN net_rx_bps_avg TO net_rx_bytes_per_s_avg;
ALTER TABLE metric_rollup_1m RENAME COLUMN net_rx_bps_max TO net_rx_bytes_per_s_max;
ALTER TABLE metric_rollup_1m RENAME COLUMN net_tx_bps_avg TO net_tx_bytes_per_s_avg;
ALTER TABLE metric_rollup_1m RENAME COLUMN net_tx_bps_max TO net_tx_bytes_per_s_max;
ALTER TABLE metric_rollup_1h RENAME COLUMN net_rx_bps_avg TO net_rx_bytes_per_s_avg;
ALTER TABLE metric_rollup_1h RENAME COLUMN net_rx_bps_max TO net_rx_bytes_per_s_max;
ALTER TABLE metric_rollup_1h RENAME COLUMN net_tx_bps_avg TO net_tx_bytes_per_s_avg;
ALTER TABLE metric_rollup_1h RENAME COLUMN net_tx_bps_max TO net_tx_bytes_per_s_max;
""",
    ),
    Migration(
        version=4,
        name="per-core CPU and GPU figures in the raw rows and both rollups",
        # Nullable columns without defaults: adding them rewrites no row, and rows written
        # before read back as NULL (no figures), never as zeros. Per-core rollups are arrays
        # indexed by core (avg, max, and how many values stand behind each average, so hours
        # are averaged from minutes exactly); GPUs, a few per host, are jsonb like temperatures.
        sql="""
ALTER TABLE metric_samples
    ADD COLUMN cpu_per_core real[],
    ADD COLUMN gpu_ids text[],
    ADD COLUMN gpu_utilization real[],
    ADD COLUMN gpu_memory_percent real[],
    ADD COLUMN gpu_temperature real[];
ALTER TABLE metric_rollup_1m
    ADD COLUMN cpu_per_core_avg real[],
    ADD COLUMN cpu_per_core_max real[],
    ADD COLUMN cpu_per_core_n integer[],
    ADD COLUMN gpus jsonb;
ALTER TABLE metric_rollup_1h
    ADD COLUMN cpu_per_core_avg real[],
    ADD COLUMN cpu_per_core_max real[],
    ADD COLUMN cpu_per_core_n integer[],
    ADD COLUMN gpus jsonb;
""",
    ),
)

# Exactly what the ingest runs: COPY into its temp staging table, then samples inserted,
# hosts and rollups upserted, pending marks taken and deleted, 1 h rollups pruned; reads for
# the history API. Partitions only through the functions above.
GRANTS: Final = Grants(
    tables={
        "hosts": privileges("SELECT", "INSERT", "UPDATE"),
        "metric_samples": privileges("SELECT", "INSERT"),
        "metric_rollup_1m": privileges("SELECT", "INSERT", "UPDATE"),
        "metric_rollup_1h": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "rollup_pending_1m": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "rollup_pending_1h": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
    },
    functions=("history_create_day(date)", "history_drop_day(date)"),
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
