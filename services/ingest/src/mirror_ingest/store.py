"""asyncpg access to the metric history: SQL constants and small functions returning Structs."""

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from mirror_ingest.migrations import LOCK_CLASS
from mirror_ingest.writing.rollups import mark_minutes
from mirror_ingest.writing.rows import STAGING_COLUMNS, SampleRow
from mirror_runtime.pg import Conn
from mirror_schema.history import HistoryHost as HostRecord

# Advisory lock class of per-host write locks (key2 = hashtext(host_id)).
HOST_LOCK_CLASS: Final = LOCK_CLASS + 1

CREATE_STAGING: Final = """
CREATE TEMP TABLE IF NOT EXISTS history_staging (
    host_id text, ts timestamptz, hostname text, cpu_load real, memory_used_percent real,
    swap_used_percent real, load_average real, memory_total_bytes bigint,
    memory_available_bytes bigint, net_bytes_tx bigint, net_bytes_rx bigint,
    if_names text[], if_sent bigint[], if_recv bigint[], if_speed_mbps real[],
    disk_mounts text[], disk_used_percent real[], temp_names text[], temp_celsius real[],
    cpu_per_core real[], gpu_ids text[], gpu_utilization real[], gpu_memory_percent real[],
    gpu_temperature real[]
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS history_new (host_id text, ts timestamptz)
    ON COMMIT DELETE ROWS;
"""

_RAW: Final = (
    "host_id, ts, cpu_load, memory_used_percent, swap_used_percent, load_average, "
    "memory_total_bytes, memory_available_bytes, net_bytes_tx, net_bytes_rx, if_names, "
    "if_sent, if_recv, if_speed_mbps, disk_mounts, disk_used_percent, temp_names, temp_celsius, "
    "cpu_per_core, gpu_ids, gpu_utilization, gpu_memory_percent, gpu_temperature"
)

INSERT_NEW: Final = f"""
WITH inserted AS (
    INSERT INTO metric_samples ({_RAW})
    SELECT {_RAW} FROM history_staging ORDER BY host_id, ts
    ON CONFLICT (host_id, ts) DO NOTHING
    RETURNING host_id, ts
)
INSERT INTO history_new SELECT host_id, ts FROM inserted
"""  # noqa: S608 - built from constants only

# Serialises writers of one host from here to commit, so that marking the minutes a late row
# changes sees every row another replica committed for the same host.
LOCK_HOSTS: Final = """
SELECT pg_advisory_xact_lock($1, hashtext(host_id))
FROM (SELECT DISTINCT host_id FROM history_new ORDER BY host_id) h
"""

UPSERT_HOSTS: Final = """
INSERT INTO hosts AS h (host_id, hostname, first_seen, last_seen)
SELECT host_id, (array_agg(hostname ORDER BY ts DESC))[1], min(ts), max(ts)
FROM history_staging GROUP BY host_id ORDER BY host_id
ON CONFLICT (host_id) DO UPDATE SET
    hostname = CASE WHEN excluded.last_seen >= h.last_seen
                    THEN excluded.hostname ELSE h.hostname END,
    first_seen = least(h.first_seen, excluded.first_seen),
    last_seen = greatest(h.last_seen, excluded.last_seen)
WHERE excluded.first_seen < h.first_seen OR excluded.last_seen > h.last_seen
"""

SELECT_HOSTS: Final = "SELECT host_id, hostname, first_seen, last_seen FROM hosts ORDER BY host_id"
SELECT_HOST: Final = "SELECT host_id, hostname, first_seen, last_seen FROM hosts WHERE host_id = $1"

_RAW_READ: Final = (
    "ts, cpu_load, memory_used_percent, swap_used_percent, load_average, net_bytes_rx, "
    "net_bytes_tx, if_names, if_sent, if_recv, disk_mounts, disk_used_percent, temp_names, "
    "temp_celsius, cpu_per_core, gpu_ids, gpu_utilization, gpu_memory_percent, gpu_temperature"
)

# One row before `since` as well, so the first point in range has a rate.
SELECT_RAW: Final = f"""
(SELECT {_RAW_READ}
 FROM metric_samples WHERE host_id = $1 AND ts < $2 AND ts >= $2 - $5::float8 * interval '1 s'
 ORDER BY ts DESC LIMIT 1)
UNION ALL
(SELECT {_RAW_READ}
 FROM metric_samples WHERE host_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4)
ORDER BY ts
"""  # noqa: S608 - built from constants only

_ROLLUP: Final = """
SELECT bucket, samples, cpu_load_avg, cpu_load_max, memory_used_percent_avg,
       memory_used_percent_max, swap_used_percent_avg, swap_used_percent_max, load_average_avg,
       load_average_max, net_rx_bytes_per_s_avg, net_rx_bytes_per_s_max, net_tx_bytes_per_s_avg,
       net_tx_bytes_per_s_max,
       interfaces::text AS interfaces, disks::text AS disks, temperatures::text AS temperatures,
       cpu_per_core_avg, cpu_per_core_max, gpus::text AS gpus
FROM {table} WHERE host_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket LIMIT $4
"""
SELECT_1M: Final = _ROLLUP.format(table="metric_rollup_1m")
SELECT_1H: Final = _ROLLUP.format(table="metric_rollup_1h")


class RawRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One raw sample as the history query reads it back."""

    ts: datetime
    cpu_load: float
    memory_used_percent: float | None
    swap_used_percent: float | None
    load_average: float | None
    net_bytes_rx: int | None
    net_bytes_tx: int | None
    if_names: list[str] | None
    if_sent: list[int] | None
    if_recv: list[int] | None
    disk_mounts: list[str] | None
    disk_used_percent: list[float] | None
    temp_names: list[str] | None
    temp_celsius: list[float] | None
    cpu_per_core: list[float] | None = None
    gpu_ids: list[str] | None = None
    gpu_utilization: list[float | None] | None = None
    gpu_memory_percent: list[float | None] | None = None
    gpu_temperature: list[float | None] | None = None


class RollupRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One 1 m or 1 h rollup row; the jsonb columns stay JSON text for the caller to decode."""

    bucket: datetime
    samples: int
    cpu_load_avg: float
    cpu_load_max: float
    memory_used_percent_avg: float | None
    memory_used_percent_max: float | None
    swap_used_percent_avg: float | None
    swap_used_percent_max: float | None
    load_average_avg: float | None
    load_average_max: float | None
    net_rx_bytes_per_s_avg: float | None
    net_rx_bytes_per_s_max: float | None
    net_tx_bytes_per_s_avg: float | None
    net_tx_bytes_per_s_max: float | None
    interfaces: str | None
    disks: str | None
    temperatures: str | None
    cpu_per_core_avg: list[float | None] | None = None
    cpu_per_core_max: list[float | None] | None = None
    gpus: str | None = None


async def write_batch(conn: Conn, rows: Sequence[SampleRow]) -> int:
    """Write rows and their rollups in one transaction; return how many rows were new.

    A row already stored (same host and timestamp) is skipped, so a redelivered batch writes
    nothing and recomputes nothing.
    """
    async with conn.transaction():
        await conn.execute(CREATE_STAGING)
        await conn.copy_records_to_table(
            "history_staging", records=rows, columns=list(STAGING_COLUMNS)
        )
        status = await conn.execute(INSERT_NEW)
        new = int(status.rsplit(" ", 1)[-1])
        if new:
            await conn.execute(LOCK_HOSTS, HOST_LOCK_CLASS)
            await mark_minutes(conn)
            await conn.execute(UPSERT_HOSTS)
    return new


async def fetch_hosts(pool: asyncpg.Pool) -> list[HostRecord]:
    """Every host with history, by host id."""
    return [HostRecord(**dict(row)) for row in await pool.fetch(SELECT_HOSTS)]


async def fetch_host(pool: asyncpg.Pool, host_id: str) -> HostRecord | None:
    """One host, or None if the history has never seen it."""
    row = await pool.fetchrow(SELECT_HOST, host_id)
    return None if row is None else HostRecord(**dict(row))


async def fetch_raw(
    pool: asyncpg.Pool,
    host_id: str,
    since: datetime,
    until: datetime,
    *,
    limit: int,
    lookback_seconds: float,
) -> list[RawRecord]:
    """Raw rows in [since, until) (at most `limit`), after the last one before `since`."""
    rows = await pool.fetch(SELECT_RAW, host_id, since, until, limit, lookback_seconds)
    return [RawRecord(**dict(row)) for row in rows]


async def fetch_rollups(
    pool: asyncpg.Pool, host_id: str, since: datetime, until: datetime, *, step: str, limit: int
) -> list[RollupRecord]:
    """1 m or 1 h rollups whose bucket starts in [since, until), at most `limit`."""
    query = SELECT_1M if step == "1m" else SELECT_1H
    rows = await pool.fetch(query, host_id, since, until, limit)
    return [RollupRecord(**dict(row)) for row in rows]
