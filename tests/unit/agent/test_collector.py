"""Collector with fake sensors: priming, tags, top processes, and every missing-sensor path."""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from mirror_agent import __version__
from mirror_agent.collector import Collector
from mirror_agent.processes import ProcessSnapshot, ProcessStat
from mirror_agent.sensors import (
    CpuCounts,
    CpuReading,
    CpuTimes,
    LoadAverage,
    MemoryReading,
    SwapReading,
)
from mirror_agent.system_info import SystemInfo
from mirror_schema import codec
from mirror_schema.samples import Disk, DiskIo, Gpu, Interface, MetricSample, Position

GIB = 2**30
T = TypeVar("T")


def cpu(busy: float, total: float) -> CpuReading:
    half = CpuTimes(busy / 2, total / 2)
    return CpuReading(overall=CpuTimes(busy, total), per_core=[half, half])


class FakeSensors:
    """A host whose readings are set by the test; a method named in `fail` raises instead."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.fail = fail or {}
        self.cpu_readings = [cpu(100.0, 400.0), cpu(150.0, 500.0)]
        self.snapshots = [
            ProcessSnapshot(taken_at=0.0, processes=[proc(1, 10.0), proc(2, 10.0)]),
            ProcessSnapshot(taken_at=2.0, processes=[proc(1, 10.5), proc(2, 11.0)]),
        ]
        self.calls: list[str] = []
        self.route: str | None = "eth0"
        self.nics = [
            Interface(name="lo", bytes_sent=5, bytes_recv=5),
            Interface(name="eth0", bytes_sent=100, bytes_recv=200, speed_mbps=1000.0),
        ]

    def _call(self, name: str, value: T) -> T:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]
        return value

    def cpu_times(self) -> CpuReading:
        reading = self.cpu_readings.pop(0) if len(self.cpu_readings) > 1 else self.cpu_readings[0]
        return self._call("cpu_times", reading)

    def cpu_counts(self) -> CpuCounts:
        return self._call("cpu_counts", CpuCounts(physical=1, logical=2))

    def cpu_freq_mhz(self) -> float | None:
        return self._call("cpu_freq_mhz", 2400.0)

    def memory(self) -> MemoryReading:
        reading = MemoryReading(total_bytes=8 * GIB, available_bytes=6 * GIB, used_percent=25.0)
        return self._call("memory", reading)

    def swap(self) -> SwapReading:
        return self._call("swap", SwapReading(total_bytes=GIB, used_percent=10.0))

    def load_average(self) -> LoadAverage:
        return self._call("load_average", LoadAverage(0.5, 0.25, 0.125))

    def boot_time(self) -> float:
        return self._call("boot_time", 1_000_000.0)

    def disks(self) -> list[Disk]:
        root = Disk(device="/dev/sda1", mountpoint="/", fstype="ext4", total_bytes=100)
        data = Disk(device="/dev/sdb1", mountpoint="/data", fstype="xfs", total_bytes=100)
        return self._call("disks", [root, data])

    def disk_io(self) -> DiskIo | None:
        return self._call("disk_io", DiskIo(read_bytes=1, write_bytes=2))

    def interfaces(self) -> list[Interface]:
        return self._call("interfaces", self.nics)

    def default_route_interface(self) -> str | None:
        return self._call("default_route_interface", self.route)

    def temperatures(self) -> dict[str, float]:
        return self._call("temperatures", {"coretemp:Core 0": 51.0})

    def gpus(self) -> list[Gpu]:
        return self._call("gpus", [Gpu(index=0, name="T4")])

    def processes(self) -> ProcessSnapshot:
        snapshot = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        return self._call("processes", snapshot)

    def system_info(self) -> SystemInfo:
        info = SystemInfo(
            platform="Linux-6.1",
            os_distro="Debian GNU/Linux 12 (bookworm)",
            os_release="6.1.0-18-amd64",
            os_kernel="#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1",
            cpu_model="AMD EPYC 7B12",
            system_model="PowerEdge R650",
            system_manufacturer="Dell Inc.",
        )
        return self._call("system_info", info)


def proc(pid: int, cpu_seconds: float) -> ProcessStat:
    return ProcessStat(
        pid=pid, name=f"p{pid}", start=1.0, cpu_seconds=cpu_seconds, rss_bytes=GIB, username="u"
    )


def make(sensors: FakeSensors, **kwargs: Any) -> Collector:
    return Collector(host_id="web-01", hostname="web-01", boot_id="b1", sensors=sensors, **kwargs)


def sample_of(collector: Collector, tags: dict[str, str] | None = None) -> MetricSample:
    sample = collector.collect(seq=3, interval_seconds=5.0, tags=tags or {})
    # decode validates every constraint a hand-built Struct skips.
    return codec.decode_sample(codec.encode(sample))


def test_every_field_is_filled_on_the_first_sample() -> None:
    """With every sensor present, the first sample carries every field a MetricSample has."""
    position = Position(x=1.0, y=2.0, z=0.0)
    sample = sample_of(make(FakeSensors(), rack="r1", position=position), {"role": "web"})
    assert sample.cpu_load == 50.0  # 50 busy of 100 elapsed CPU seconds since construction
    assert sample.cpu_per_core == [50.0, 50.0]
    assert (sample.cpu_physical_cores, sample.cpu_logical_cores) == (1, 2)
    assert (sample.cpu_model, sample.cpu_freq_mhz) == ("AMD EPYC 7B12", 2400.0)
    assert (sample.memory_used_percent, sample.memory_total_bytes) == (25.0, 8 * GIB)
    assert sample.memory_available_bytes == 6 * GIB
    assert (sample.swap_used_percent, sample.swap_total_bytes) == (10.0, GIB)
    assert (sample.load_average, sample.load_average_5, sample.load_average_15) == (
        0.5,
        0.25,
        0.125,
    )
    assert sample.uptime_seconds is not None
    assert sample.uptime_seconds > 0
    assert (sample.net_bytes_tx, sample.net_bytes_rx) == (105, 205)  # summed over interfaces
    assert [d.mountpoint for d in sample.disks] == ["/", "/data"]
    assert sample.disk_io == DiskIo(read_bytes=1, write_bytes=2)
    assert [i.name for i in sample.interfaces] == ["lo", "eth0"]
    assert sample.temperatures == {"coretemp:Core 0": 51.0}
    assert [p.pid for p in sample.top_processes] == [2, 1]
    assert sample.gpus == [Gpu(index=0, name="T4")]
    assert sample.agent_version == __version__
    assert sample.os_distro == "Debian GNU/Linux 12 (bookworm)"
    assert (sample.platform, sample.os_release) == ("Linux-6.1", "6.1.0-18-amd64")
    assert sample.os_kernel == "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1"
    assert (sample.system_model, sample.system_manufacturer) == ("PowerEdge R650", "Dell Inc.")
    assert (sample.rack, sample.position) == ("r1", position)
    assert (sample.host_id, sample.boot_id, sample.seq, sample.interval_seconds) == (
        "web-01",
        "b1",
        3,
        5.0,
    )
    assert sample.tags == {
        "role": "web",
        "primary_interface": "eth0",
        "primary_interface_speed_mbps": "1000",
        "primary_disk": "/dev/sda1",
    }


def test_cpu_is_primed_at_construction_not_measured_from_zero() -> None:
    """The first cpu_load covers construction -> collect, so it is neither a bogus 0 nor 100."""
    sensors = FakeSensors()
    sensors.cpu_readings = [cpu(100.0, 400.0), cpu(110.0, 440.0)]
    assert sample_of(make(sensors)).cpu_load == 25.0


def test_within_one_tick_the_load_since_boot_stands_in_and_the_baseline_is_kept() -> None:
    """No CPU time elapsed since the baseline: report the average since boot, and measure the next
    sample from the older baseline rather than from this empty interval."""
    sensors = FakeSensors()
    sensors.cpu_readings = [cpu(100.0, 400.0), cpu(100.0, 400.0), cpu(300.0, 600.0)]
    collector = make(sensors)
    assert sample_of(collector).cpu_load == 25.0  # 100 / 400 since boot
    assert sample_of(collector).cpu_load == 100.0  # (300 - 100) / (600 - 400)


def test_top_processes_rank_cpu_over_the_interval_since_construction() -> None:
    """Construction primes the process table; the first sample ranks CPU used since then."""
    sample = sample_of(make(FakeSensors()))
    assert [(p.pid, p.cpu_percent) for p in sample.top_processes] == [(2, 50.0), (1, 25.0)]
    assert sample.top_processes[0].memory_percent == 12.5  # 1 GiB of 8 GiB


def test_zero_top_processes_never_reads_the_process_table() -> None:
    """top_processes=0 turns the feature off, and its cost with it."""
    sensors = FakeSensors()
    sample = sample_of(make(sensors, top_processes=0))
    assert sample.top_processes == []
    assert "processes" not in sensors.calls


def test_the_top_process_count_is_configurable() -> None:
    """Only the configured number of processes is sent."""
    assert [p.pid for p in sample_of(make(FakeSensors(), top_processes=1)).top_processes] == [2]


def test_derived_primary_tags_override_config_tags_of_the_same_key_only() -> None:
    """primary_* tags are facts about the host and win; every other config tag passes through."""
    tags = {"primary_interface": "typo0", "primary_disk": "/dev/nope", "team": "infra"}
    sample = sample_of(make(FakeSensors()), tags)
    assert sample.tags["primary_interface"] == "eth0"
    assert sample.tags["primary_disk"] == "/dev/sda1"
    assert sample.tags["team"] == "infra"


def test_a_config_primary_tag_stays_when_the_fact_is_unknown() -> None:
    """Without interfaces there is no derived primary_interface, so the config value stands."""
    sensors = FakeSensors(fail={"interfaces": PermissionError()})
    sample = sample_of(make(sensors), {"primary_interface": "bond0"})
    assert sample.tags["primary_interface"] == "bond0"
    assert "primary_interface_speed_mbps" not in sample.tags


def test_without_a_default_route_the_busiest_interface_is_primary() -> None:
    """No default route: the up, non-loopback interface with the most traffic is primary."""
    sensors = FakeSensors()
    sensors.route = None
    sensors.nics = [
        Interface(name="lo", bytes_sent=10**9),
        Interface(name="eth0", bytes_sent=10),
        Interface(name="eth1", bytes_sent=99),
    ]
    tags = sample_of(make(sensors)).tags
    assert tags["primary_interface"] == "eth1"
    assert "primary_interface_speed_mbps" not in tags  # speed unknown


SENSOR_ERRORS = [
    PermissionError(13, "Permission denied"),
    FileNotFoundError(2, "No such file or directory"),
    RuntimeError("couldn't find any sensors"),
    AttributeError("module 'psutil' has no attribute 'sensors_temperatures'"),
]
METHODS = [
    "cpu_times",
    "cpu_counts",
    "cpu_freq_mhz",
    "memory",
    "swap",
    "load_average",
    "boot_time",
    "disks",
    "disk_io",
    "interfaces",
    "default_route_interface",
    "temperatures",
    "gpus",
    "processes",
    "system_info",
]


@pytest.mark.parametrize("error", SENSOR_ERRORS, ids=lambda error: type(error).__name__)
def test_with_every_sensor_failing_a_valid_sample_still_goes_out(error: Exception) -> None:
    """Every reading raising, at construction and at collection, leaves every field empty."""
    sensors = FakeSensors(fail=dict.fromkeys(METHODS, error))
    sample = sample_of(make(sensors), {"role": "db"})
    assert sample.cpu_load == 0.0  # required by the schema; nothing better is known
    assert sample.cpu_per_core == []
    assert (sample.disks, sample.interfaces, sample.top_processes, sample.gpus) == ([], [], [], [])
    assert sample.temperatures == {}
    assert sample.disk_io is None
    assert sample.memory_used_percent is None
    assert sample.uptime_seconds is None
    assert sample.net_bytes_tx is None
    assert sample.cpu_model is None
    assert sample.os_distro is None
    assert sample.tags == {"role": "db"}
    assert (sample.host_id, sample.agent_version) == ("web-01", __version__)


EMPTY_FIELDS: dict[str, Callable[[MetricSample], bool]] = {
    "cpu_times": lambda s: s.cpu_load == 0.0 and s.cpu_per_core == [],
    "cpu_counts": lambda s: s.cpu_physical_cores is None and s.cpu_logical_cores is None,
    "cpu_freq_mhz": lambda s: s.cpu_freq_mhz is None,
    "memory": lambda s: s.memory_used_percent is None and s.top_processes[0].memory_percent == 0,
    "swap": lambda s: s.swap_used_percent is None and s.swap_total_bytes is None,
    "load_average": lambda s: s.load_average is None and s.load_average_15 is None,
    "boot_time": lambda s: s.uptime_seconds is None,
    "disks": lambda s: s.disks == [] and "primary_disk" not in s.tags,
    "disk_io": lambda s: s.disk_io is None,
    "interfaces": lambda s: s.interfaces == [] and s.net_bytes_rx is None,
    "default_route_interface": lambda s: s.tags["primary_interface"] == "eth0",
    "temperatures": lambda s: s.temperatures == {},
    "gpus": lambda s: s.gpus == [],
    "processes": lambda s: s.top_processes == [],
    "system_info": lambda s: s.os_kernel is None and s.system_model is None,
}


@pytest.mark.parametrize("method", METHODS)
def test_one_failing_sensor_empties_only_its_own_fields(method: str) -> None:
    """A single missing reading leaves its field empty and every other field filled."""
    sample = sample_of(make(FakeSensors(fail={method: PermissionError(13, "denied")})))
    assert EMPTY_FIELDS[method](sample)
    others = [name for name in METHODS if name != method and name != "default_route_interface"]
    assert all(not EMPTY_FIELDS[name](sample) for name in others)


def test_a_failing_sensor_is_logged_as_a_warning_once_then_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sensor that keeps failing warns once, so a host without it does not flood the log."""
    caplog.set_level(logging.DEBUG, logger="mirror_agent.collector")
    collector = make(FakeSensors(fail={"temperatures": RuntimeError("no sensors")}))
    for seq in range(3):
        collector.collect(seq=seq, interval_seconds=5.0, tags={})
    failures = [r for r in caplog.records if "kind=temperatures" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
