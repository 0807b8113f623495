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

from mirror_ingest.writing.rows import MAX_RATE_GAP_SECONDS
from mirror_runtime.pg import Conn

_GAP: Final = f"interval '{MAX_RATE_GAP_SECONDS:g} seconds'"
# date_bin with a fixed UTC origin: buckets do not depend on the session's time zone.
_ORIGIN: Final = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
# DO UPDATE ... WHERE false writes nothing but locks a mark another transaction made, so a
# flush (SKIP LOCKED) cannot take it before this transaction commits.
_LOCK_MARK: Final = (
    "ON CONFLICT (host_id, bucket) DO UPDATE SET bucket = excluded.bucket WHERE false"
)

# The columns of both rollup tables, and the upsert that replaces a recomputed bucket whole.
_ROLLUP_FIELDS: Final = (
    "samples", "cpu_load_avg", "cpu_load_max", "memory_used_percent_avg",
    "memory_used_percent_max", "swap_used_percent_avg", "swap_used_percent_max",
    "load_average_avg", "load_average_max", "net_rx_bytes_per_s_avg", "net_rx_bytes_per_s_max",
    "net_tx_bytes_per_s_avg", "net_tx_bytes_per_s_max", "net_rates", "interfaces", "disks",
    "temperatures",
)  # fmt: skip
_ROLLUP_COLUMNS: Final = "host_id, bucket, " + ", ".join(_ROLLUP_FIELDS)
_ROLLUP_UPSERT: Final = "ON CONFLICT (host_id, bucket) DO UPDATE SET " + ", ".join(
    f"{field} = excluded.{field}" for field in _ROLLUP_FIELDS
)

# Uses the temp table history_new (host_id, ts): the rows this transaction inserted; runs
# before the hosts upsert, so hosts.last_seen tells whether a later row of the host can exist.
MARK_MINUTES: Final = f"""
INSERT INTO rollup_pending_1m AS p (host_id, bucket)
SELECT host_id, bucket FROM (
    SELECT host_id, date_bin('1 minute', ts, {_ORIGIN}) AS bucket FROM history_new
    UNION
    SELECT n.host_id, date_bin('1 minute', nx.ts, {_ORIGIN})
    FROM history_new n
    JOIN hosts h ON h.host_id = n.host_id AND n.ts < h.last_seen
    CROSS JOIN LATERAL (
        SELECT s.ts FROM metric_samples s
        WHERE s.host_id = n.host_id AND s.ts > n.ts AND s.ts <= n.ts + {_GAP}
        ORDER BY s.ts LIMIT 1
    ) nx
) t
ORDER BY 1, 2
{_LOCK_MARK}
"""  # noqa: S608 - built from constants only

RECOMPUTE_MINUTES: Final = f"""
WITH touched AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS t(host_id, bucket)),
src AS (
    SELECT t.host_id, t.bucket, true AS inside, s.ts, s.cpu_load, s.memory_used_percent,
           s.swap_used_percent, s.load_average, s.net_bytes_rx, s.net_bytes_tx,
           s.if_names, s.if_sent, s.if_recv, s.disk_mounts, s.disk_used_percent,
           s.temp_names, s.temp_celsius
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
           p.net_bytes_tx, p.if_names, p.if_sent, p.if_recv, NULL, NULL, NULL, NULL
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
upserted AS (
    INSERT INTO metric_rollup_1m AS m (
{_ROLLUP_COLUMNS})
    SELECT main.host_id, main.bucket, samples, cpu_load_avg, cpu_load_max, mem_avg, mem_max,
           swap_avg, swap_max, load_avg, load_max, rx_avg, rx_max, tx_avg, tx_max, net_rates,
           interfaces, disks, temperatures
    FROM main
    LEFT JOIN ifaces USING (host_id, bucket)
    LEFT JOIN disks USING (host_id, bucket)
    LEFT JOIN temps USING (host_id, bucket)
    ORDER BY host_id, bucket
    {_ROLLUP_UPSERT}
    RETURNING m.host_id, m.bucket
)
INSERT INTO rollup_pending_1h AS p (host_id, bucket)
SELECT DISTINCT host_id, date_bin('1 hour', bucket, {_ORIGIN}) FROM upserted ORDER BY 1, 2
{_LOCK_MARK}
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

# Averages are weighted by how many values stand behind each minute's average.
RECOMPUTE_HOURS: Final = f"""
WITH picked AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS p(host_id, hour)),
m AS (
    SELECT p.hour, m.* FROM picked p
    JOIN metric_rollup_1m m
      ON m.host_id = p.host_id AND m.bucket >= p.hour AND m.bucket < p.hour + interval '1 hour'
),
main AS (
    SELECT host_id, hour, sum(samples)::int AS samples,
           sum(cpu_load_avg * samples) / sum(samples) AS cpu_load_avg,
           max(cpu_load_max) AS cpu_load_max,
           sum(memory_used_percent_avg * samples)
               / nullif(sum(samples) FILTER (WHERE memory_used_percent_avg IS NOT NULL), 0)
               AS mem_avg,
           max(memory_used_percent_max) AS mem_max,
           sum(swap_used_percent_avg * samples)
               / nullif(sum(samples) FILTER (WHERE swap_used_percent_avg IS NOT NULL), 0)
               AS swap_avg,
           max(swap_used_percent_max) AS swap_max,
           sum(load_average_avg * samples)
               / nullif(sum(samples) FILTER (WHERE load_average_avg IS NOT NULL), 0)
               AS load_avg,
           max(load_average_max) AS load_max,
           sum(net_rx_bytes_per_s_avg * net_rates) / nullif(sum(net_rates), 0) AS rx_avg,
           max(net_rx_bytes_per_s_max) AS rx_max,
           sum(net_tx_bytes_per_s_avg * net_rates) / nullif(sum(net_rates), 0) AS tx_avg,
           max(net_tx_bytes_per_s_max) AS tx_max,
           sum(net_rates)::int AS net_rates
    FROM m GROUP BY host_id, hour
),
ifaces AS (
    SELECT host_id, hour,
           jsonb_object_agg(name, jsonb_build_object(
               'rx', rx, 'rx_max', rx_max, 'tx', tx, 'tx_max', tx_max, 'n', n)) AS interfaces
    FROM (
        SELECT m.host_id, m.hour, e.key AS name,
               sum((e.value->>'rx')::float8 * (e.value->>'n')::int)
                   / sum((e.value->>'n')::int) AS rx,
               max((e.value->>'rx_max')::float8) AS rx_max,
               sum((e.value->>'tx')::float8 * (e.value->>'n')::int)
                   / sum((e.value->>'n')::int) AS tx,
               max((e.value->>'tx_max')::float8) AS tx_max,
               sum((e.value->>'n')::int) AS n
        FROM m CROSS JOIN LATERAL jsonb_each(m.interfaces) e
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, hour
),
disks AS (
    SELECT host_id, hour, jsonb_object_agg(mount, used) AS disks
    FROM (
        SELECT m.host_id, m.hour, e.key AS mount, max(e.value::float8) AS used
        FROM m CROSS JOIN LATERAL jsonb_each_text(m.disks) e
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, hour
),
temps AS (
    SELECT host_id, hour,
           jsonb_object_agg(sensor, jsonb_build_object('avg', t_avg, 'max', t_max, 'n', n))
               AS temperatures
    FROM (
        SELECT m.host_id, m.hour, e.key AS sensor,
               sum((e.value->>'avg')::float8 * (e.value->>'n')::int)
                   / sum((e.value->>'n')::int) AS t_avg,
               max((e.value->>'max')::float8) AS t_max,
               sum((e.value->>'n')::int) AS n
        FROM m CROSS JOIN LATERAL jsonb_each(m.temperatures) e
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, hour
)
INSERT INTO metric_rollup_1h AS h (
{_ROLLUP_COLUMNS})
SELECT main.host_id, main.hour, samples, cpu_load_avg, cpu_load_max, mem_avg, mem_max,
       swap_avg, swap_max, load_avg, load_max, rx_avg, rx_max, tx_avg, tx_max, net_rates,
       interfaces, disks, temperatures
FROM main
LEFT JOIN ifaces USING (host_id, hour)
LEFT JOIN disks USING (host_id, hour)
LEFT JOIN temps USING (host_id, hour)
ORDER BY main.host_id, main.hour
{_ROLLUP_UPSERT}
"""  # noqa: S608 - built from constants only


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
