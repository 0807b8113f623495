"""What the 1 m and 1 h rollup tables share: their columns, the upsert that replaces a
recomputed bucket whole, the buckets' origin and the lock on a pending mark."""

from typing import Final

# date_bin with a fixed UTC origin: buckets do not depend on the session's time zone.
ORIGIN: Final = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
# DO UPDATE ... WHERE false writes nothing but locks a mark another transaction made, so a
# flush (SKIP LOCKED) cannot take it before this transaction commits.
LOCK_MARK: Final = (
    "ON CONFLICT (host_id, bucket) DO UPDATE SET bucket = excluded.bucket WHERE false"
)

# The columns of both rollup tables, and the upsert that replaces a recomputed bucket whole.
ROLLUP_FIELDS: Final = (
    "samples", "cpu_load_avg", "cpu_load_max", "memory_used_percent_avg",
    "memory_used_percent_max", "swap_used_percent_avg", "swap_used_percent_max",
    "load_average_avg", "load_average_max", "net_rx_bytes_per_s_avg", "net_rx_bytes_per_s_max",
    "net_tx_bytes_per_s_avg", "net_tx_bytes_per_s_max", "net_rates", "interfaces", "disks",
    "temperatures", "cpu_per_core_avg", "cpu_per_core_max", "cpu_per_core_n", "gpus",
)  # fmt: skip
ROLLUP_COLUMNS: Final = "host_id, bucket, " + ", ".join(ROLLUP_FIELDS)
ROLLUP_UPSERT: Final = "ON CONFLICT (host_id, bucket) DO UPDATE SET " + ", ".join(
    f"{field} = excluded.{field}" for field in ROLLUP_FIELDS
)
