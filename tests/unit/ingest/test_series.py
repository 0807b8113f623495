"""History query parameters, the step a range gets, and the points a chart reads."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mirror_ingest.series import (
    MAX_POINTS,
    QueryError,
    choose_step,
    parse_query,
    raw_points,
    rollup_points,
)
from mirror_ingest.store import RawRecord, RollupRecord

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(minutes=5), "raw"),
        (timedelta(hours=2), "raw"),
        (timedelta(hours=2, seconds=1), "1m"),
        (timedelta(days=3), "1m"),
        (timedelta(days=3, seconds=1), "1h"),
        (timedelta(days=400), "1h"),
    ],
)
def test_step_follows_the_range(span: timedelta, step: str) -> None:
    """Short ranges get raw rows, days get minutes, longer ranges hours."""
    assert choose_step(NOW - span, NOW) == step


def test_defaults_are_the_last_hour_raw() -> None:
    """Without since and until, the query covers the hour before now, raw."""
    query = parse_query("web-01", None, None, None, NOW)
    assert (query.since, query.until, query.step) == (NOW - timedelta(hours=1), NOW, "raw")


def test_explicit_step_and_zulu_times() -> None:
    """An explicit step wins over the range; Z and offsets both parse."""
    query = parse_query("web-01", "2026-03-01T10:00:00Z", "2026-03-01T13:00:00+02:00", "1h", NOW)
    assert query.step == "1h"
    assert query.since == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert query.until == datetime(2026, 3, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "param", "text"),
    [
        ((None, None, None, None), "host", "required"),
        (("Web 01", None, None, None), "host", "invalid host id"),
        (("web-01", "yesterday", None, None), "since", "'yesterday' is not an ISO 8601"),
        (("web-01", None, "2026-13-01", None), "until", "not an ISO 8601"),
        (("web-01", "2026-03-01T11:00:00Z", "2026-03-01T10:00:00Z", None), "since", "not before"),
        (("web-01", None, None, "5m"), "step", "'5m' is not one of raw, 1m, 1h"),
        (("web-01", "2026-01-01T00:00:00Z", None, "1m"), "step", f"limit of {MAX_POINTS}"),
        (("web-01", "2020-01-01T00:00:00Z", None, None), "since", f"limit of {MAX_POINTS}"),
    ],
)
def test_bad_parameters_are_named(
    args: tuple[str | None, str | None, str | None, str | None], param: str, text: str
) -> None:
    """Each bad parameter raises an error naming it and showing the problem."""
    with pytest.raises(QueryError) as caught:
        parse_query(*args, NOW)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")
    assert text in str(caught.value)


def _raw(seconds: float, sent: int, recv: int) -> RawRecord:
    return RawRecord(
        ts=NOW + timedelta(seconds=seconds),
        cpu_load=12.300000190734863,
        memory_used_percent=50.0,
        swap_used_percent=None,
        load_average=0.5,
        net_bytes_rx=recv,
        net_bytes_tx=sent,
        if_names=["eth0"],
        if_sent=[sent],
        if_recv=[recv],
        disk_mounts=["/"],
        disk_used_percent=[40.0],
        temp_names=["cpu"],
        temp_celsius=[55.5],
    )


def test_raw_points_carry_rates_and_skip_the_lookback_row() -> None:
    """The row before `since` only seeds rates; a counter reset gives no rate."""
    records = [_raw(-5, 0, 0), _raw(0, 5_000, 10_000), _raw(5, 100, 200)]
    points = raw_points(records, NOW)
    assert [p.timestamp for p in points] == [NOW, NOW + timedelta(seconds=5)]
    first, second = points
    assert first.cpu_load == 12.3
    assert (first.net_rx_bytes_per_s, first.net_tx_bytes_per_s) == (2000.0, 1000.0)
    assert first.interfaces["eth0"].rx_bytes_per_s == 2000.0
    assert first.disks == {"/": 40.0}
    assert first.temperatures == {"cpu": 55.5}
    assert second.net_rx_bytes_per_s is None
    assert second.interfaces["eth0"].rx_bytes_per_s is None


def test_rollup_points_name_averages_plainly_and_maxima_with_max() -> None:
    """Rollup rows become points with avg fields and `_max` fields, per key as well."""
    record = RollupRecord(
        bucket=NOW,
        samples=12,
        cpu_load_avg=20.0,
        cpu_load_max=35.5,
        memory_used_percent_avg=50.0,
        memory_used_percent_max=51.0,
        swap_used_percent_avg=None,
        swap_used_percent_max=None,
        load_average_avg=1.0,
        load_average_max=2.0,
        net_rx_bytes_per_s_avg=1000.0,
        net_rx_bytes_per_s_max=1500.0,
        net_tx_bytes_per_s_avg=10.0,
        net_tx_bytes_per_s_max=20.0,
        interfaces='{"eth0": {"rx": 1000.0, "rx_max": 1500.0, "tx": 10, "tx_max": 20, "n": 11}}',
        disks='{"/": 41.5}',
        temperatures='{"cpu": {"avg": 55.25, "max": 60.0, "n": 12}}',
    )
    (point,) = rollup_points([record])
    assert (point.cpu_load, point.cpu_load_max) == (20.0, 35.5)
    assert point.interfaces["eth0"].rx_bytes_per_s_max == 1500.0
    assert point.disks == {"/": 41.5}
    assert (point.temperatures, point.temperatures_max) == ({"cpu": 55.25}, {"cpu": 60.0})


def test_raw_gpus_and_cores_come_back_by_index_and_rounded() -> None:
    """A GPU's arrays are parallel; one shorter than the ids (a malformed row) reads as None."""
    record = msgspec.structs.replace(
        _raw(0, 0, 0),
        cpu_per_core=[1.100000023841858, 2.0],
        gpu_ids=["0", "1"],
        gpu_utilization=[50.0, 75.5],
        gpu_memory_percent=[12.5],
        gpu_temperature=None,
    )
    (point,) = raw_points([record], NOW)
    assert point.cpu_per_core == [1.1, 2.0]
    assert point.gpus["0"].utilization_percent == 50.0
    assert point.gpus["0"].memory_used_percent == 12.5
    assert point.gpus["1"].memory_used_percent is None
    assert point.gpus["1"].temperature_celsius is None


def test_rollup_cores_and_gpus_carry_averages_and_maxima() -> None:
    """Per-core arrays and the GPUs' jsonb become the point's averages and `_max` figures."""
    record = RollupRecord(
        bucket=NOW,
        samples=3,
        cpu_load_avg=1.0,
        cpu_load_max=1.0,
        memory_used_percent_avg=None,
        memory_used_percent_max=None,
        swap_used_percent_avg=None,
        swap_used_percent_max=None,
        load_average_avg=None,
        load_average_max=None,
        net_rx_bytes_per_s_avg=None,
        net_rx_bytes_per_s_max=None,
        net_tx_bytes_per_s_avg=None,
        net_tx_bytes_per_s_max=None,
        interfaces=None,
        disks=None,
        temperatures=None,
        cpu_per_core_avg=[10.0, None],
        cpu_per_core_max=[20.0, None],
        gpus='{"0": {"util": 40, "util_max": 90, "util_n": 3, "mem": null, "mem_max": null,'
        ' "mem_n": 0, "temp": 60.5, "temp_max": 62, "temp_n": 3}}',
    )
    (point,) = rollup_points([record])
    assert (point.cpu_per_core, point.cpu_per_core_max) == ([10.0, None], [20.0, None])
    gpu = point.gpus["0"]
    assert (gpu.utilization_percent, gpu.utilization_percent_max) == (40.0, 90.0)
    assert (gpu.memory_used_percent, gpu.memory_used_percent_max) == (None, None)
    assert (gpu.temperature_celsius, gpu.temperature_celsius_max) == (60.5, 62.0)
