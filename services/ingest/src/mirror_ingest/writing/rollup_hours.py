"""The 1 h rollups, recomputed from their hour's 1 m rollups (rollups.flush_hours runs it)."""

from typing import Final

from mirror_ingest.writing.rollup_columns import ROLLUP_COLUMNS, ROLLUP_UPSERT


def _weighted(figure: str) -> str:
    """SQL of the hour's average of one GPU figure: the minutes' averages weighted by their
    counts (a minute without the figure has a null average and a count of 0)."""
    return (
        f"sum((e.value->>'{figure}')::float8 * (e.value->>'{figure}_n')::int)"
        f" / nullif(sum((e.value->>'{figure}_n')::int), 0)"
    )


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
),
cores AS (
    SELECT host_id, hour, array_agg(c_avg ORDER BY core) AS cores_avg,
           array_agg(c_max ORDER BY core) AS cores_max, array_agg(n ORDER BY core) AS cores_n
    FROM (
        SELECT m.host_id, m.hour, k.core,
               sum(k.avg * k.n) / nullif(sum(k.n), 0) AS c_avg, max(k.max) AS c_max,
               sum(k.n)::int AS n
        FROM m CROSS JOIN LATERAL unnest(
            m.cpu_per_core_avg, m.cpu_per_core_max, m.cpu_per_core_n
        ) WITH ORDINALITY AS k(avg, max, n, core)
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, hour
),
gpus AS (
    SELECT host_id, hour,
           jsonb_object_agg(gpu, jsonb_build_object(
               'util', u_avg, 'util_max', u_max, 'util_n', u_n,
               'mem', m_avg, 'mem_max', m_max, 'mem_n', m_n,
               'temp', t_avg, 'temp_max', t_max, 'temp_n', t_n)) AS gpus
    FROM (
        SELECT m.host_id, m.hour, e.key AS gpu,
               {_weighted("util")} AS u_avg, max((e.value->>'util_max')::float8) AS u_max,
               sum((e.value->>'util_n')::int) AS u_n,
               {_weighted("mem")} AS m_avg, max((e.value->>'mem_max')::float8) AS m_max,
               sum((e.value->>'mem_n')::int) AS m_n,
               {_weighted("temp")} AS t_avg, max((e.value->>'temp_max')::float8) AS t_max,
               sum((e.value->>'temp_n')::int) AS t_n
        FROM m CROSS JOIN LATERAL jsonb_each(m.gpus) e
        GROUP BY 1, 2, 3
    ) x
    GROUP BY host_id, hour
)
INSERT INTO metric_rollup_1h AS h (
{ROLLUP_COLUMNS})
SELECT main.host_id, main.hour, samples, cpu_load_avg, cpu_load_max, mem_avg, mem_max,
       swap_avg, swap_max, load_avg, load_max, rx_avg, rx_max, tx_avg, tx_max, net_rates,
       interfaces, disks, temperatures, cores_avg, cores_max, cores_n, gpus
FROM main
LEFT JOIN ifaces USING (host_id, hour)
LEFT JOIN disks USING (host_id, hour)
LEFT JOIN temps USING (host_id, hour)
LEFT JOIN cores USING (host_id, hour)
LEFT JOIN gpus USING (host_id, hour)
ORDER BY main.host_id, main.hour
{ROLLUP_UPSERT}
"""  # noqa: S608 - built from constants only
