"""Collector on the real host: invariants, a primed first cpu_load, a busy child ranked first."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

from mirror_agent.collector import Collector
from mirror_agent.sensors import CpuReading, HostSensors
from mirror_schema import codec
from mirror_schema.samples import MetricSample

# Threads hashing 1 MiB buffers release the GIL, so this child uses every core it can get.
BUSY_CHILD = """
import hashlib, os, sys, threading, time
buffer = b"x" * 2**20
deadline = time.monotonic() + 20  # bounded even if the test dies before killing it
def spin():
    while time.monotonic() < deadline:
        hashlib.sha256(buffer).digest()
for _ in range(2 * (os.cpu_count() or 1)):
    threading.Thread(target=spin, daemon=True).start()
print("ready", flush=True)
# On "go", spin here too until this process has used MEASURED_CPU_SECONDS more, then say so:
# the test's measuring window ends on that line instead of on a timer.
sys.stdin.readline()
start = time.process_time()
while time.process_time() - start < MEASURED_CPU_SECONDS:
    pass
print("spun", flush=True)
sys.stdin.read()  # until the test closes our stdin or kills us
"""

MEASURED_CPU_SECONDS = 0.5


def collector(top_processes: int = 5) -> Collector:
    return Collector(
        host_id="test-host", hostname="test-host", boot_id="boot", top_processes=top_processes
    )


def burn_cpu(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


@pytest.fixture
def busy_child() -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", f"MEASURED_CPU_SECONDS = {MEASURED_CPU_SECONDS}\n{BUSY_CHILD}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        child.kill()
        child.communicate(timeout=10)  # reaps it and closes its pipes
        if child.stdout is not None:
            child.stdout.close()


def test_a_real_sample_respects_every_schema_constraint() -> None:
    """The sample round-trips through encode/decode_sample, which checks every constraint."""
    sample = collector().collect(seq=0, interval_seconds=5.0, tags={"env": "test"})
    decoded = codec.decode_sample(codec.encode(sample))
    assert decoded == sample
    assert isinstance(sample, MetricSample)


def test_real_readings_are_in_range_and_typed() -> None:
    """Percentages are 0-100, counters are non-negative ints, and the facts are present."""
    c = collector()
    burn_cpu(0.05)
    sample = c.collect(seq=1, interval_seconds=5.0, tags={})
    assert 0.0 <= sample.cpu_load <= 100.0
    assert sample.cpu_per_core
    assert all(0.0 <= core <= 100.0 for core in sample.cpu_per_core)
    assert sample.cpu_logical_cores == psutil.cpu_count()
    assert sample.memory_used_percent is not None
    assert 0.0 <= sample.memory_used_percent <= 100.0
    assert isinstance(sample.memory_total_bytes, int)
    assert sample.memory_total_bytes > 0
    assert sample.uptime_seconds is not None
    assert sample.uptime_seconds > 0
    assert sample.load_average is not None
    assert isinstance(sample.net_bytes_rx, int)
    assert sample.net_bytes_rx >= 0
    for disk in sample.disks:
        assert 0.0 <= disk.used_percent <= 100.0
        assert disk.total_bytes > 0
        assert disk.fstype not in {"tmpfs", "proc", "sysfs", "overlay", "cgroup2"}
    assert len({disk.device for disk in sample.disks}) == len(sample.disks)
    for interface in sample.interfaces:
        assert min(interface.bytes_sent, interface.bytes_recv, interface.packets_recv) >= 0
        assert interface.speed_mbps is None or interface.speed_mbps > 0
    for process in sample.top_processes:
        assert process.cpu_percent >= 0.0
        assert 0.0 <= process.memory_percent <= 100.0
    assert sample.agent_version
    assert sample.os_distro
    assert sample.os_release
    assert sample.cpu_model
    assert sample.gpus == []  # nvidia-ml-py is not installed here


class ReferencedSensors(HostSensors):
    """The host's sensors, with psutil's own percentage taken at the very moment the
    collector reads the CPU times: both measure the same interval, however long the rest of
    the sample (disks, temperatures, GPUs) then takes."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[float] = []

    def cpu_times(self) -> CpuReading:
        reading = super().cpu_times()
        self.references.append(psutil.cpu_percent())
        return reading


def test_the_first_cpu_load_measures_the_time_since_construction() -> None:
    """The first sample's cpu_load is what psutil measures over the same interval, not the bogus
    0.0 of an unprimed counter; CPU was burnt meanwhile, so it cannot honestly be 0."""
    sensors = ReferencedSensors()
    c = Collector(host_id="test-host", hostname="test-host", boot_id="boot", sensors=sensors)
    # psutil's own counter starts with the collector's (its priming read, just taken).
    burner = threading.Thread(target=burn_cpu, args=(0.3,))
    burner.start()
    burner.join()
    sample = c.collect(seq=1, interval_seconds=5.0, tags={})
    reference = sensors.references[-1]
    assert sample.cpu_load > 0.0
    assert sample.cpu_load == pytest.approx(reference, abs=10.0)


def test_top_processes_rank_the_cpu_used_over_the_interval(
    busy_child: subprocess.Popen[str],
) -> None:
    """A child spinning between two collections is ranked by the CPU it used over that interval
    (as psutil measures it), above every process that was not busier, in descending order.

    Only a process that really was busier may rank above it: on a shared host another busy
    process can legitimately tie with the child, so "first" alone would be flaky.
    """
    c = collector(top_processes=10)
    child = psutil.Process(busy_child.pid)
    c.collect(seq=1, interval_seconds=0.5, tags={})
    before, started = sum(child.cpu_times()[:2]), time.monotonic()
    assert busy_child.stdin is not None
    assert busy_child.stdout is not None
    busy_child.stdin.write("go\n")
    busy_child.stdin.flush()
    assert busy_child.stdout.readline().strip() == "spun"  # the measuring window is over
    used = (sum(child.cpu_times()[:2]) - before) / (time.monotonic() - started) * 100
    sample = c.collect(seq=2, interval_seconds=0.5, tags={})
    ranks = [process.cpu_percent for process in sample.top_processes]
    assert ranks == sorted(ranks, reverse=True)
    by_pid = {process.pid: process for process in sample.top_processes}
    assert busy_child.pid in by_pid, sample.top_processes
    spun = by_pid[busy_child.pid]
    # Its share of a core depends on what else this machine runs; what must hold is that the
    # collector saw what psutil measured over the same window.
    assert used > 0.0
    assert spun.cpu_percent == pytest.approx(used, abs=25.0)
    for process in sample.top_processes:
        if process.pid == busy_child.pid:
            break
        assert process.cpu_percent >= spun.cpu_percent  # really busier, not just older
