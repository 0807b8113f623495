"""Raw history rows: a MetricSample as the tuple COPY writes, and the counter-rate rule."""

from datetime import UTC, date, datetime
from typing import Final

from mirror_derive import rate_per_second
from mirror_schema.samples import Gpu, MetricSample

# A rate needs two samples of the same host at most this far apart: across a longer gap (an
# agent down, a host asleep) an average over the whole gap would draw a flat line that never was.
MAX_RATE_GAP_SECONDS: Final = 900.0

# Columns of the staging table, in the order sample_row() fills them.
STAGING_COLUMNS: Final = (
    "host_id",
    "ts",
    "hostname",
    "cpu_load",
    "memory_used_percent",
    "swap_used_percent",
    "load_average",
    "memory_total_bytes",
    "memory_available_bytes",
    "net_bytes_tx",
    "net_bytes_rx",
    "if_names",
    "if_sent",
    "if_recv",
    "if_speed_mbps",
    "disk_mounts",
    "disk_used_percent",
    "temp_names",
    "temp_celsius",
    "cpu_per_core",
    "gpu_ids",
    "gpu_utilization",
    "gpu_memory_percent",
    "gpu_temperature",
)

SampleRow = tuple[
    str,
    datetime,
    str,
    float,
    float | None,
    float | None,
    float | None,
    int | None,
    int | None,
    int | None,
    int | None,
    list[str] | None,
    list[int] | None,
    list[int] | None,
    list[float | None] | None,
    list[str] | None,
    list[float] | None,
    list[str] | None,
    list[float] | None,
    list[float] | None,
    list[str] | None,
    list[float | None] | None,
    list[float | None] | None,
    list[float | None] | None,
]


def sample_row(sample: MetricSample, host_id: str) -> SampleRow:
    """The staging row of one sample; empty collections become NULL to keep rows small."""
    interfaces = sample.interfaces
    disks = sample.disks
    temperatures = sample.temperatures
    gpus = sample.gpus
    return (
        host_id,
        sample.timestamp,
        sample.hostname,
        sample.cpu_load,
        sample.memory_used_percent,
        sample.swap_used_percent,
        sample.load_average,
        sample.memory_total_bytes,
        sample.memory_available_bytes,
        sample.net_bytes_tx,
        sample.net_bytes_rx,
        [i.name for i in interfaces] if interfaces else None,
        [i.bytes_sent for i in interfaces] if interfaces else None,
        [i.bytes_recv for i in interfaces] if interfaces else None,
        [i.speed_mbps for i in interfaces] if interfaces else None,
        [d.mountpoint for d in disks] if disks else None,
        [d.used_percent for d in disks] if disks else None,
        list(temperatures) if temperatures else None,
        list(temperatures.values()) if temperatures else None,
        list(sample.cpu_per_core) if sample.cpu_per_core else None,
        [str(g.index) for g in gpus] if gpus else None,
        [g.utilization_percent for g in gpus] if gpus else None,
        [gpu_memory_percent(g) for g in gpus] if gpus else None,
        [g.temperature_celsius for g in gpus] if gpus else None,
    )


def gpu_memory_percent(gpu: Gpu) -> float | None:
    """The share of a GPU's memory in use, in percent; None when either figure is unknown."""
    if gpu.memory_used_bytes is None or not gpu.memory_total_bytes:
        return None
    return min(100.0, 100.0 * gpu.memory_used_bytes / gpu.memory_total_bytes)


def sample_day(timestamp: datetime) -> date:
    """The UTC day a timestamp falls in: the day partition its row goes to."""
    return timestamp.astimezone(UTC).date()


def counter_rate(previous: int | None, current: int | None, seconds: float | None) -> float | None:
    """Bytes per second between two readings of a counter; None when there is no honest value.

    None when either reading is missing, when the readings are not in order or more than
    MAX_RATE_GAP_SECONDS apart, and when the counter went backwards (a reset or a reboot): a
    reset gives no value, never a negative one. The rollup SQL implements the same rule.
    """
    if seconds is None or seconds > MAX_RATE_GAP_SECONDS:
        return None
    return rate_per_second(previous, current, seconds)
