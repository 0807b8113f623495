"""1-minute and 1-hour rollups: recompute, from the rows, exactly the buckets new rows touched.

The transaction that inserts raw rows marks the minutes they touched in rollup_pending_1m
(a late row also marks the minute of its host's next sample, whose rate it changes). Right
after, flush() recomputes those minutes from the raw rows and marks their hours, then the hours
from their minutes. Debouncing to one recompute per bucket per flush (about a second) instead
of one per batch keeps the write path at ~1 read per raw row instead of ~6. A redelivery
inserts nothing, marks nothing and so changes nothing: rollups always equal what the raw rows
give. Rates follow rows.counter_rate(): from consecutive samples of a host at most
MAX_RATE_GAP_SECONDS apart, and no value when a counter went backwards.

Taking marks with FOR UPDATE SKIP LOCKED then recomputing in a second statement (a fresh
snapshot) means every raw row of a writer whose mark was taken is visible; a writer still
holding its mark keeps it pending for the next flush. Several replicas may flush at once.
"""

from typing import Final

import asyncpg

from mirror_ingest.writing.rollup_columns import LOCK_MARK, ORIGIN, ROLLUP_COLUMNS, ROLLUP_UPSERT
from mirror_ingest.writing.rollup_hours import RECOMPUTE_HOURS
from mirror_ingest.writing.rows import MAX_RATE_GAP_SECONDS
from mirror_runtime.pg import Conn

_GAP: Final = f"interval '{MAX_RATE_GAP_SECONDS:g} seconds'"
# Uses the temp table history_new (host_id, ts): the rows this transaction inserted; runs
# before the hosts upsert, so hosts.last_seen tells whether a later row of the host can exist.
MARK_MINUTES: Final = f"""
INSERT INTO rollup_pending_1m AS p (host_id, bucket)
SELECT host_id, bucket FROM (
    SELECT host_id, date_bin('1 minute', ts, {ORIGIN}) AS bucket FROM history_new
    UNION
    SELECT n.host_id, date_bin('1 minute', nx.ts, {ORIGIN})
    FROM history_new n
    JOIN hosts h ON h.host_id = n.host_id AND n.ts < h.last_seen
    CROSS JOIN LATERAL (
        SELECT s.ts FROM metric_samples s
        WHERE s.host_id = n.host_id AND s.ts > n.ts AND s.ts <= n.ts + {_GAP}
        ORDER BY s.ts LIMIT 1
    ) nx
) t
ORDER BY 1, 2
{LOCK_MARK}
"""  # noqa: S608 - built from constants only

RECOMPUTE_MINUTES: Final = f"""
WITH touched AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS t(host_id, bucket)),
src AS (
    SELECT t.host_id, t.bucket, true AS inside, s.ts, s.cpu_load, s.memory_used_percent,
           s.swap_used_percent, s.load_average, s.net_bytes_rx, s.net_bytes_tx,
           s.if_names, s.if_sent, s.if_recv, s.disk_mounts, s.disk_used_percent,
           s.temp_names, s.temp_celsius, s.cpu_per_core, s.gpu_ids, s.gpu_utilization,
           s.gpu_memory_percent, s.gpu_temperature
    FROM touched t
    -- OFFSET 0 keeps this a per-bucket index probe: the planner cannot estimate `touched`
    -- and would otherwise hash-join whole partitions.
    CROSS JOIN LATERAL (
        SELECT * FROM metric_samples s
        WHERE s.host_id = t.host_id AND s.ts >= t.bucket AND s.ts < t.bucket + interval '1 minute'
        OFFSET 0
    ) s
    UNION ALL
    SELECT t.host_id, t.bucket, false, p.ts, NULL, NULL, NULL, NULL, p.net_bytes_rx,
           p.net_bytes_tx, p.if_names, p.if_sent, p.if_recv, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL
    FROM touched t
    CROSS JOIN LATERAL (
        SELECT s.ts, s.net_bytes_rx, s.net_bytes_tx, s.if_names, s.if_sent, s.if_recv
        FROM metric_samples s
        WHERE s.host_id = t.host_id AND s.ts < t.bucket AND s.ts >= t.bucket - {_GAP}
        ORDER BY s.ts DESC LIMIT 1
    ) p
),
r AS (
    SELECT * FROM (
        SELECT src.*,
               CASE WHEN ts - lag(ts) OVER w <= {_GAP}
                    THEN extract(epoch FROM ts - lag(ts) OVER w)::float8 END AS secs,
               lag(net_bytes_rx) OVER w AS prev_rx, lag(net_bytes_tx) OVER w AS prev_tx,
               lag(if_names) OVER w AS prev_if_names, lag(if_sent) OVER w AS prev_if_sent,
               lag(if_recv) OVER w AS prev_if_recv
        FROM src WINDOW w AS (PARTITION BY host_id, bucket ORDER BY ts)
    ) x WHERE inside
),
main AS (
    SELECT host_id, bucket, count(*)::int AS samples,
           avg(cpu_load) AS cpu_load_avg, max(cpu_load) AS cpu_load_max,
           avg(memory_used_percent) AS mem_avg, max(memory_used_percent) AS mem_max,
           avg(swap_used_percent) AS swap_avg, max(swap_used_percent) AS swap_max,
           avg(load_average) AS load_avg, max(load_average) AS load_max,
           avg(rx) AS rx_avg, max(rx) AS rx_max, avg(tx) AS tx_avg, max(tx) AS tx_max,
           count(rx)::int AS net_rates
    FROM (
        SELECT r.*,
               CASE WHEN net_bytes_rx >= prev_rx THEN (net_bytes_rx - prev_rx) / secs END AS rx,
               CASE WHEN net_bytes_tx >= prev_tx THEN (net_bytes_tx - prev_tx) / secs END AS tx
        FROM r
    ) x
    GROUP BY host_id, bucket
),
ifaces AS (
    SELECT host_id, bucket,
           jsonb_object_agg(name, jsonb_build_object(
               'rx', rx, 'rx_max', rx_max, 'tx', tx, 'tx_max', tx_max, 'n', n)) AS interfaces
    FROM (
        SELECT r.host_id, r.bucket, i.name, avg(v.rx) AS rx, max(v.rx) AS rx_max,
               avg(v.tx) AS tx, max(v.tx) AS tx_max, count(v.rx) AS n
        FROM r
        CROSS JOIN LATERAL unnest(r.if_names, r.if_sent, r.if_recv) AS i(name, sent, recv)
        CROSS JOIN LATERAL (SELECT array_position(r.prev_if_names, i.name) AS pos) p
        CROSS JOIN LATERAL (SELECT
            CASE WHEN i.recv >= r.prev_if_recv[p.pos]
                 THEN (i.recv - r.prev_if_recv[p.pos]) / r.secs END AS rx,
            CASE WHEN i.sent >= r.prev_if_sent[p.pos]
                 THEN (i.sent - r.prev_if_sent[p.pos]) / r.secs END AS tx) v
        WHERE r.secs IS NOT NULL
        GROUP BY 1, 2, 3
    ) x
    WHERE n > 0
    GROUP BY host_id, bucket
),
disks AS (
    SELECT host_id, bucket, jsonb_object_agg(mount, used) AS disks
    FROM (
        SELECT r.host_id, r.bucket, k.mount, max(k.used) AS used
        FROM r CROSS JOIN LATERAL unnest(r.disk_mounts, r.disk_used_percent) AS k(mount, used)
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, bucket
),
temps AS (
    SELECT host_id, bucket,
           jsonb_object_agg(sensor, jsonb_build_object('avg', t_avg, 'max', t_max, 'n', n))
               AS temperatures
    FROM (
        SELECT r.host_id, r.bucket, k.sensor, avg(k.celsius) AS t_avg, max(k.celsius) AS t_max,
               count(k.celsius) AS n
        FROM r CROSS JOIN LATERAL unnest(r.temp_names, r.temp_celsius) AS k(sensor, celsius)
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, bucket
),
cores AS (
    SELECT host_id, bucket, array_agg(c_avg ORDER BY core) AS cores_avg,
           array_agg(c_max ORDER BY core) AS cores_max, array_agg(n ORDER BY core) AS cores_n
    FROM (
        SELECT r.host_id, r.bucket, k.core, avg(k.pct) AS c_avg, max(k.pct) AS c_max,
               count(k.pct)::int AS n
        FROM r CROSS JOIN LATERAL unnest(r.cpu_per_core) WITH ORDINALITY AS k(pct, core)
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, bucket
),
gpus AS (
    SELECT host_id, bucket,
           jsonb_object_agg(gpu, jsonb_build_object(
               'util', u_avg, 'util_max', u_max, 'util_n', u_n,
               'mem', m_avg, 'mem_max', m_max, 'mem_n', m_n,
               'temp', t_avg, 'temp_max', t_max, 'temp_n', t_n)) AS gpus
    FROM (
        SELECT r.host_id, r.bucket, k.gpu,
               avg(k.util) AS u_avg, max(k.util) AS u_max, count(k.util) AS u_n,
               avg(k.mem) AS m_avg, max(k.mem) AS m_max, count(k.mem) AS m_n,
               avg(k.temp) AS t_avg, max(k.temp) AS t_max, count(k.temp) AS t_n
        FROM r CROSS JOIN LATERAL unnest(
            r.gpu_ids, r.gpu_utilization, r.gpu_memory_percent, r.gpu_temperature
        ) AS k(gpu, util, mem, temp)
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, bucket
),
upserted AS (
    INSERT INTO metric_rollup_1m AS m (
{ROLLUP_COLUMNS})
    SELECT main.host_id, main.bucket, samples, cpu_load_avg, cpu_load_max, mem_avg, mem_max,
           swap_avg, swap_max, load_avg, load_max, rx_avg, rx_max, tx_avg, tx_max, net_rates,
           interfaces, disks, temperatures, cores_avg, cores_max, cores_n, gpus
    FROM main
    LEFT JOIN ifaces USING (host_id, bucket)
    LEFT JOIN disks USING (host_id, bucket)
    LEFT JOIN temps USING (host_id, bucket)
    LEFT JOIN cores USING (host_id, bucket)
    LEFT JOIN gpus USING (host_id, bucket)
    ORDER BY host_id, bucket
    {ROLLUP_UPSERT}
    RETURNING m.host_id, m.bucket
)
INSERT INTO rollup_pending_1h AS p (host_id, bucket)
SELECT DISTINCT host_id, date_bin('1 hour', bucket, {ORIGIN}) FROM upserted ORDER BY 1, 2
{LOCK_MARK}
"""  # noqa: S608 - built from constants only

_TAKE_PENDING: Final = """
DELETE FROM {table} p
USING (
    SELECT host_id, bucket FROM {table} ORDER BY host_id, bucket
    LIMIT $1 FOR UPDATE SKIP LOCKED
) picked
WHERE p.host_id = picked.host_id AND p.bucket = picked.bucket
RETURNING p.host_id, p.bucket
"""
TAKE_PENDING_MINUTES: Final = _TAKE_PENDING.format(table="rollup_pending_1m")
TAKE_PENDING_HOURS: Final = _TAKE_PENDING.format(table="rollup_pending_1h")


async def mark_minutes(conn: Conn) -> None:
    """Mark the minutes the rows in history_new touched (inside the inserting transaction)."""
    await conn.execute(MARK_MINUTES)


async def _flush(pool: asyncpg.Pool, take: str, recompute: str, limit: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        taken = await conn.fetch(take, limit)
        if taken:
            await conn.execute(
                recompute, [row["host_id"] for row in taken], [row["bucket"] for row in taken]
            )
    return len(taken)


async def flush_minutes(pool: asyncpg.Pool, limit: int = 20_000) -> int:
    """Recompute up to `limit` pending 1 m rollups from the raw rows; return how many."""
    return await _flush(pool, TAKE_PENDING_MINUTES, RECOMPUTE_MINUTES, limit)


async def flush_hours(pool: asyncpg.Pool, limit: int = 20_000) -> int:
    """Recompute up to `limit` pending 1 h rollups from their minutes; return how many."""
    return await _flush(pool, TAKE_PENDING_HOURS, RECOMPUTE_HOURS, limit)


async def flush(pool: asyncpg.Pool) -> int:
    """Bring every rollup up to date with the rows committed so far; return buckets computed."""
    total = 0
    while (minutes := await flush_minutes(pool)) > 0:
        total += minutes
    while (hours := await flush_hours(pool)) > 0:
        total += hours
    return total
