"""A hung mount (a real FUSE mount whose server never answers) costs its own disk reading,
not the agent: each sample still comes, with the other disks, and the mount holds one thread
however many samples go by; once it answers again it is read again."""

import threading
from pathlib import Path

from hung_mount import hung_mount
from mirror_agent.collector import Collector
from mirror_agent.sensors import HostSensors
from mirror_schema.samples import MetricSample

# How long a sample may take before the test calls the collector stuck: far beyond the
# readings' deadlines (2 s for all disks, 1 s a mount), so only a hang reaches it.
STUCK_SECONDS = 60


def sample_within_bound(collector: Collector) -> MetricSample:
    """One sample, taken in a thread: fails the test when it never comes (the hang)."""
    taken: list[MetricSample] = []
    worker = threading.Thread(
        target=lambda: taken.append(collector.collect(seq=1, interval_seconds=1.0, tags={})),
        daemon=True,
    )
    worker.start()
    worker.join(STUCK_SECONDS)
    assert taken, f"no sample in {STUCK_SECONDS} s: the collector is stuck on the hung mount"
    return taken[0]


def test_a_hung_mount_costs_its_own_reading_and_one_thread(tmp_path: Path) -> None:
    healthy = {d.mountpoint for d in HostSensors().disks()}  # before the mount hangs
    with hung_mount(tmp_path / "hung") as hung:
        sensors = HostSensors()
        collector = Collector(host_id="h", hostname="h", boot_id="b", sensors=sensors)
        check_hung_mount(sensors, collector, hung, healthy)


def check_hung_mount(
    sensors: HostSensors, collector: Collector, hung: Path, healthy: set[str]
) -> None:
    first = sample_within_bound(collector)
    mounts = {d.mountpoint for d in first.disks}
    assert str(hung) not in mounts
    assert mounts == healthy  # the other disks are still read
    assert first.memory_used_percent is not None
    assert f"disk:{hung}" in sensors.hung_mounts()
    threads = sensors.mount_threads()

    for _ in range(3):
        later = sample_within_bound(collector)
        assert {d.mountpoint for d in later.disks} == healthy
    assert sensors.mount_threads() == threads  # no new thread per sample for the hung one
    assert collector.hung_readings() == []  # the disks reading itself answered in time


def test_a_mount_that_answers_again_is_read_again(tmp_path: Path) -> None:
    sensors = HostSensors()
    collector = Collector(host_id="h", hostname="h", boot_id="b", sensors=sensors)
    with hung_mount(tmp_path / "hung") as where:
        sample_within_bound(collector)
        assert f"disk:{where}" in sensors.hung_mounts()
    # Released: the blocked call failed (ENOTCONN) and the mount is gone; nothing is hung.
    sample_within_bound(collector)
    assert f"disk:{where}" not in sensors.hung_mounts()
