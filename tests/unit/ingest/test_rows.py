"""Raw history rows built from samples, and the counter-rate rule rollups rely on."""

from datetime import UTC, datetime
from pathlib import Path

from mirror_ingest.writing.rows import (
    MAX_RATE_GAP_SECONDS,
    STAGING_COLUMNS,
    counter_rate,
    gpu_memory_percent,
    sample_day,
    sample_row,
)
from mirror_schema.samples import Gpu, MetricSample, decode_sample

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "original-agent-payload.json"


def test_reference_payload_becomes_a_row() -> None:
    """The original agent's payload fills every column it has, in STAGING_COLUMNS order."""
    sample = decode_sample(REFERENCE.read_bytes())
    row = dict(zip(STAGING_COLUMNS, sample_row(sample, "vm"), strict=True))
    assert row["host_id"] == "vm"
    assert row["hostname"] == "vm"
    assert row["ts"] == datetime(2026, 11, 21, 22, 38, 23, 200069, tzinfo=UTC)
    assert row["cpu_load"] == 50.0
    assert row["memory_used_percent"] == 4.1
    assert row["memory_total_bytes"] == 25276502016
    assert row["net_bytes_rx"] == 277824287
    assert row["if_names"] == ["lo", "ifb0"]
    assert row["if_sent"] == [147058854, 0]
    assert row["if_recv"] == [147058854, 0]
    assert row["if_speed_mbps"] == [None, None]
    assert row["disk_mounts"] == ["/"]
    assert row["disk_used_percent"] == [22.6]
    # An empty dict costs nothing: NULL instead of two empty arrays.
    assert row["temp_names"] is None
    assert row["temp_celsius"] is None


def test_minimal_sample_has_null_collections() -> None:
    """A sample with only the required fields leaves every optional column NULL."""
    sample = MetricSample(hostname="h", timestamp=datetime(2026, 1, 1, tzinfo=UTC), cpu_load=1.0)
    row = sample_row(sample, "h")
    assert row[4:] == (None,) * (len(STAGING_COLUMNS) - 4)


def test_sample_day_is_the_utc_day() -> None:
    """A timestamp late in the evening east of UTC belongs to the UTC day's partition."""
    late = datetime.fromisoformat("2026-03-01T01:30:00+02:00")
    assert str(sample_day(late)) == "2026-02-28"


def test_rate_is_bytes_per_second() -> None:
    """Two readings 5 s apart, 5,000 bytes apart, give 1,000 bytes/s."""
    assert counter_rate(10_000, 15_000, 5.0) == 1000.0


def test_counter_reset_gives_no_rate() -> None:
    """A counter that went backwards (a reboot) gives no value, never a negative one."""
    assert counter_rate(15_000, 200, 5.0) is None


def test_no_rate_across_a_long_gap_or_missing_reading() -> None:
    """Readings too far apart, out of order or missing give no rate."""
    assert counter_rate(0, 100, MAX_RATE_GAP_SECONDS + 1) is None
    assert counter_rate(0, 100, 0.0) is None
    assert counter_rate(None, 100, 5.0) is None
    assert counter_rate(100, None, 5.0) is None
    assert counter_rate(100, 100, None) is None
    assert counter_rate(100, 100, 5.0) == 0.0


def test_cores_and_gpus_become_parallel_arrays() -> None:
    """Per-core CPU as it came; each GPU's figures at the same position, memory as a percent
    (None where the GPU did not report both of its memory figures)."""
    sample = MetricSample(
        hostname="g",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        cpu_load=10.0,
        cpu_per_core=[5.0, 15.0],
        gpus=[
            Gpu(index=0, utilization_percent=80.0, memory_used_bytes=4, memory_total_bytes=16),
            Gpu(index=3, temperature_celsius=61.0, memory_used_bytes=4),
        ],
    )
    row = dict(zip(STAGING_COLUMNS, sample_row(sample, "g"), strict=True))
    assert row["cpu_per_core"] == [5.0, 15.0]
    assert row["gpu_ids"] == ["0", "3"]
    assert row["gpu_utilization"] == [80.0, None]
    assert row["gpu_memory_percent"] == [25.0, None]
    assert row["gpu_temperature"] == [None, 61.0]


def test_gpu_memory_percent_needs_a_known_total() -> None:
    """A total of zero or unknown gives no percent rather than a division by zero."""
    assert gpu_memory_percent(Gpu(index=0, memory_used_bytes=1, memory_total_bytes=0)) is None
    assert gpu_memory_percent(Gpu(index=0, memory_used_bytes=8, memory_total_bytes=8)) == 100.0
