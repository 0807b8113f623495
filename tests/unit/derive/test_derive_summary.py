"""The hottest sensor, the fullest disk, and the derived figures of a first sample."""

from datetime import UTC, datetime

from mirror_derive import derive, fullest_disk, hottest_temperature
from mirror_schema.samples import Disk, MetricSample


def _sample(temperatures: dict[str, float], disks: list[Disk]) -> MetricSample:
    return MetricSample(
        hostname="db-1",
        timestamp=datetime(2024, 5, 1, tzinfo=UTC),
        cpu_load=10.0,
        temperatures=temperatures,
        disks=disks,
    )


def _disk(mountpoint: str, used_percent: float) -> Disk:
    return Disk(device="/dev/sda", mountpoint=mountpoint, used_percent=used_percent)


def test_hottest_is_the_highest_reading() -> None:
    """The sensor with the highest Celsius reading is the hottest."""
    sample = _sample({"cpu": 61.0, "nvme": 72.5, "board": 40.0}, [])

    assert hottest_temperature(sample) == ("nvme", 72.5)


def test_hottest_skips_non_finite_and_breaks_ties_by_name() -> None:
    """NaN readings are ignored; equal readings go to the name that sorts first."""
    sample = _sample({"b": 50.0, "a": 50.0, "broken": float("nan")}, [])

    assert hottest_temperature(sample) == ("a", 50.0)


def test_no_sensors_means_no_hottest() -> None:
    """Without temperatures the hottest is unknown."""
    assert hottest_temperature(_sample({}, [])) is None


def test_fullest_is_the_highest_used_percent() -> None:
    """The disk with the highest used_percent is the fullest, named by its mountpoint."""
    sample = _sample({}, [_disk("/", 40.0), _disk("/var", 91.5), _disk("/home", 12.0)])

    assert fullest_disk(sample) == ("/var", 91.5)


def test_no_disks_means_no_fullest() -> None:
    """Without disks the fullest is unknown."""
    assert fullest_disk(_sample({}, [])) is None


def test_derive_first_sample_knows_summaries_but_no_rates() -> None:
    """With no previous sample, summaries are known and every rate is unknown."""
    derived = derive(None, _sample({"cpu": 55.0}, [_disk("/", 70.0)]))

    assert derived.hottest == ("cpu", 55.0)
    assert derived.fullest == ("/", 70.0)
    assert derived.interfaces == []
    assert derived.total_rx_bits_per_second is None
    assert derived.total_tx_bits_per_second is None
    assert derived.primary_interface is None
    assert derived.primary_utilization is None
