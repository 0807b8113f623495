"""Readings per (metric, resource), with interface utilization from mirror_derive."""

import pytest
from alerts_samples import eth0, sample

from mirror_alerts.evaluation.readings import Reading, readings
from mirror_derive import interface_rates
from mirror_schema.samples import Disk, Gpu


def test_every_metric_has_its_resource() -> None:
    """Host figures have resource "", the rest are named disk:, temp:, if: and gpu:."""
    previous = sample(0, interfaces=eth0(0))
    current = sample(
        5,
        memory_used_percent=50.0,
        swap_used_percent=1.0,
        load_average=0.5,
        disks=[Disk(device="/dev/sda1", mountpoint="/", used_percent=71.0)],
        temperatures={"cpu": 61.0},
        interfaces=eth0(312_500_000),
        gpus=[Gpu(index=0, utilization_percent=99.0, temperature_celsius=83.0)],
    )
    got = {(r.metric, r.resource): r.value for r in readings(previous, current)}
    assert got == {
        ("cpu_load", ""): 10.0,
        ("memory_used_percent", ""): 50.0,
        ("swap_used_percent", ""): 1.0,
        ("load_average", ""): 0.5,
        ("disk.used_percent", "disk:/"): 71.0,
        ("temperature", "temp:cpu"): 61.0,
        ("interface.utilization", "if:eth0"): pytest.approx(50.0),
        ("gpu.utilization_percent", "gpu:0"): 99.0,
        ("gpu.temperature_celsius", "gpu:0"): 83.0,
    }


def test_interface_utilization_is_mirror_derives_in_percent() -> None:
    """The reading is exactly the twin's figure (mirror_derive) times 100."""
    previous = sample(0, interfaces=eth0(1_000_000, 7_000_000))
    current = sample(5, interfaces=eth0(400_000_000, 90_000_000))
    derived = next(r for r in interface_rates(previous, current) if r.name == "eth0")
    assert derived.utilization is not None
    got = [r for r in readings(previous, current) if r.metric == "interface.utilization"]
    assert got == [Reading("interface.utilization", "if:eth0", derived.utilization * 100)]


def test_unknown_capacity_gives_no_reading() -> None:
    """No link speed: utilization is unknown, so there is no reading at all (not 0)."""
    previous = sample(0, interfaces=eth0(0, speed_mbps=None))
    current = sample(5, interfaces=eth0(10**9, speed_mbps=None))
    assert [r for r in readings(previous, current) if r.metric == "interface.utilization"] == []


def test_first_sample_and_new_boot_give_no_utilization() -> None:
    """Without a previous sample of the same boot there is no rate, hence no reading."""
    current = sample(5, interfaces=eth0(10**9))
    other_boot = sample(0, interfaces=eth0(0), boot_id="boot-0")
    for previous in (None, other_boot):
        assert not [r for r in readings(previous, current) if r.metric == "interface.utilization"]


def test_unknown_gpu_figures_give_no_reading() -> None:
    """A GPU that reports no utilization or temperature yields nothing for them."""
    current = sample(0, gpus=[Gpu(index=1)])
    assert [r for r in readings(None, current) if r.resource == "gpu:1"] == []


def test_only_wanted_metrics_are_read() -> None:
    """The evaluator asks only for the metrics some rule watches."""
    current = sample(0, memory_used_percent=50.0, temperatures={"cpu": 50.0})
    assert readings(None, current, frozenset({"cpu_load"})) == [Reading("cpu_load", "", 10.0)]
