"""Collector: one MetricSample of this host; a reading that fails, or does not answer within
its deadline (mirror_agent.bounded), leaves its field empty."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, TypeVar

from mirror_agent import __version__
from mirror_agent.bounded import READING_TIMEOUT_SECONDS, BoundedReads
from mirror_agent.network import primary_interface
from mirror_agent.processes import ProcessTable
from mirror_agent.rates import busy_percent
from mirror_agent.sensors import (
    CpuCounts,
    CpuTimes,
    HostSensors,
    LoadAverage,
    MemoryReading,
    Sensors,
    SwapReading,
)
from mirror_agent.system_info import SystemInfo
from mirror_schema.samples import Disk, Interface, MetricSample, Position, TopProcess

__all__ = ["Collector", "derived_tags"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Readings that can block without end: filesystems (a hung NFS or FUSE mount), hardware
# monitors behind slow buses, the GPU driver. Each goes through a worker thread within its
# deadline; the rest read /proc, which answers, and stay on the caller's thread (a thread
# hand-off for each would double a sample's cost).
MAY_BLOCK: Final = frozenset({"disks", "temperatures", "gpus"})


class Collector:
    """Reads the host through ``sensors``; CPU and process counters are primed at construction,
    so the first sample's cpu_load and top processes cover the time since then."""

    def __init__(
        self,
        *,
        host_id: str,
        hostname: str,
        boot_id: str,
        rack: str | None = None,
        position: Position | None = None,
        top_processes: int = 5,
        sensors: Sensors | None = None,
        reading_timeout: float = READING_TIMEOUT_SECONDS,
    ) -> None:
        self.host_id = host_id
        self.hostname = hostname
        self.boot_id = boot_id
        self.rack = rack
        self.position = position
        self.top_processes = top_processes
        self.sensors: Sensors = sensors if sensors is not None else HostSensors()
        self._failed: set[str] = set()
        self._readings = BoundedReads(reading_timeout, name="sensor")
        self._processes = ProcessTable()
        # Static facts are read once: they cannot change while the agent runs.
        self._system = self._read("system_info", self.sensors.system_info, SystemInfo())
        self._counts = self._read("cpu_counts", self.sensors.cpu_counts, CpuCounts())
        self._cpu_baseline = self._read("cpu_times", self.sensors.cpu_times, None)
        if top_processes > 0:
            self._prime_processes()

    def collect(self, *, seq: int, interval_seconds: float, tags: dict[str, str]) -> MetricSample:
        """One sample; never raises because of the host (a failed reading is None or empty)."""
        now = datetime.now(UTC)
        cpu_load, cpu_per_core = self._cpu()
        memory = self._read("memory", self.sensors.memory, None)
        swap: SwapReading | None = self._read("swap", self.sensors.swap, None)
        load: LoadAverage | None = self._read("load_average", self.sensors.load_average, None)
        boot_time: float | None = self._read("boot_time", self.sensors.boot_time, None)
        disks: list[Disk] = self._read("disks", self.sensors.disks, [])
        interfaces: list[Interface] = self._read("interfaces", self.sensors.interfaces, [])
        default_route = self._read("default_route", self.sensors.default_route_interface, None)
        system = self._system
        return MetricSample(
            hostname=self.hostname,
            timestamp=now,
            cpu_load=cpu_load,
            cpu_per_core=cpu_per_core,
            cpu_physical_cores=self._counts.physical,
            cpu_logical_cores=self._counts.logical,
            cpu_model=system.cpu_model,
            cpu_freq_mhz=self._read("cpu_freq", self.sensors.cpu_freq_mhz, None),
            memory_used_percent=memory.used_percent if memory else None,
            memory_total_bytes=memory.total_bytes if memory else None,
            memory_available_bytes=memory.available_bytes if memory else None,
            swap_used_percent=swap.used_percent if swap else None,
            swap_total_bytes=swap.total_bytes if swap else None,
            load_average=load.one if load else None,
            load_average_5=load.five if load else None,
            load_average_15=load.fifteen if load else None,
            uptime_seconds=max(0.0, now.timestamp() - boot_time) if boot_time else None,
            net_bytes_tx=sum(i.bytes_sent for i in interfaces) if interfaces else None,
            net_bytes_rx=sum(i.bytes_recv for i in interfaces) if interfaces else None,
            disks=disks,
            disk_io=self._read("disk_io", self.sensors.disk_io, None),
            interfaces=interfaces,
            temperatures=self._read("temperatures", self.sensors.temperatures, {}),
            top_processes=self._top_processes(memory),
            gpus=self._read("gpus", self.sensors.gpus, []),
            agent_version=__version__,
            platform=system.platform,
            os_distro=system.os_distro,
            os_release=system.os_release,
            os_kernel=system.os_kernel,
            system_model=system.system_model,
            system_manufacturer=system.system_manufacturer,
            tags={**tags, **derived_tags(disks, interfaces, default_route)},
            rack=self.rack,
            position=self.position,
            host_id=self.host_id,
            boot_id=self.boot_id,
            seq=seq,
            interval_seconds=interval_seconds,
            source="agent",
        )

    def _cpu(self) -> tuple[float, list[float]]:
        # cpu_load is required by the schema: with no CPU reading at all it is 0.0.
        current = self._read("cpu_times", self.sensors.cpu_times, None)
        if current is None:
            return 0.0, []
        baseline = self._cpu_baseline
        overall = _percent_between(baseline.overall if baseline else None, current.overall)
        per_core = [
            _percent_between(
                baseline.per_core[i] if baseline and i < len(baseline.per_core) else None, core
            )
            for i, core in enumerate(current.per_core)
        ]
        # Within one clock tick of the baseline nothing was measured: keep the older baseline
        # so the next sample covers the whole interval.
        if baseline is None or current.overall.total != baseline.overall.total:
            self._cpu_baseline = current
        return overall, per_core

    def _prime_processes(self) -> None:
        snapshot = self._read("processes", self.sensors.processes, None)
        if snapshot is not None:
            self._processes.update(snapshot, limit=0, memory_total_bytes=None)

    def _top_processes(self, memory: MemoryReading | None) -> list[TopProcess]:
        if self.top_processes <= 0:
            return []
        snapshot = self._read("processes", self.sensors.processes, None)
        if snapshot is None:
            return []
        return self._processes.update(
            snapshot,
            limit=self.top_processes,
            memory_total_bytes=memory.total_bytes if memory else None,
        )

    def hung_readings(self) -> list[str]:
        """The readings that did not answer in time and have not answered since."""
        return self._readings.hung()

    def _read(self, kind: str, read: Callable[[], T], default: T) -> T:
        """Call one sensor (within the reading deadline when it can block: see MAY_BLOCK); on
        any error log it (a warning the first time) and return default, as for a reading that
        did not answer in time."""
        try:
            if kind in MAY_BLOCK:
                return self._readings.read(kind, read, default)
            return read()
        except Exception:
            # The one edge where the host's failures stop: psutil and the OS raise anything
            # from PermissionError to AttributeError, and a sample must still go out.
            if kind in self._failed:
                log.debug("collector.reading_failed kind=%s", kind, exc_info=True)
            else:
                self._failed.add(kind)
                log.warning(
                    "collector.reading_failed kind=%s (field left empty; logged once)",
                    kind,
                    exc_info=True,
                )
            return default


def _percent_between(previous: CpuTimes | None, current: CpuTimes) -> float:
    if previous is not None:
        percent = busy_percent(previous.busy, previous.total, current.busy, current.total)
        if percent is not None:
            return round(percent, 2)
    # No interval to measure: the average since boot beats a bogus 0 or 100.
    if current.total <= 0:
        return 0.0
    return round(min(100.0, max(0.0, current.busy / current.total * 100.0)), 2)


def derived_tags(
    disks: list[Disk], interfaces: list[Interface], default_route: str | None
) -> dict[str, str]:
    """The ``primary_*`` facts about the host, as tags; a fact that is unknown is left out.

    They are facts, so they override a config tag of the same key; config tags with other
    keys pass through untouched (the Collector merges config first, these second).
    """
    tags: dict[str, str] = {}
    primary = primary_interface(interfaces, default_route)
    if primary is not None:
        tags["primary_interface"] = primary.name
        if primary.speed_mbps is not None:
            tags["primary_interface_speed_mbps"] = f"{primary.speed_mbps:g}"
    root = next((disk for disk in disks if disk.mountpoint == "/"), None)
    if root is not None:
        tags["primary_disk"] = root.device
    return tags
