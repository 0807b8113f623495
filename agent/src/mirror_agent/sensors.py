"""Sensors: every reading of the OS behind one Protocol, and HostSensors, the real one."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Protocol

import msgspec
import psutil

from mirror_agent.bounded import READING_TIMEOUT_SECONDS, BoundedReads
from mirror_agent.disks import DiskUsage, read_disk_io, read_disks, read_partitions
from mirror_agent.gpus import GpuReader
from mirror_agent.network import read_default_route_interface, read_interfaces
from mirror_agent.processes import ProcessSnapshot, ProcReader, read_snapshot
from mirror_agent.refreshed import Refreshed
from mirror_agent.system_info import SystemInfo, read_system_info
from mirror_schema.common import CELSIUS_MAX, CELSIUS_MIN
from mirror_schema.samples import Disk, DiskIo, Gpu, Interface

__all__ = [
    "CpuCounts",
    "CpuReading",
    "CpuTimes",
    "HostSensors",
    "LoadAverage",
    "MemoryReading",
    "Sensors",
    "SwapReading",
    "busy_and_total",
]


MOUNTS_REFRESH_SECONDS = 30.0
# Within the Collector's deadline for all disks (READING_TIMEOUT_SECONDS): the first sample
# after a mount hangs still has the other mounts.
MOUNT_TIMEOUT_SECONDS = READING_TIMEOUT_SECONDS / 2
LINKS_REFRESH_SECONDS = 10.0
SENSORS_REFRESH_SECONDS = 300.0


class CpuTimes(msgspec.Struct, frozen=True):
    """Cumulative CPU seconds since boot: busy (not idle or iowait) and total."""

    busy: float
    total: float


class CpuReading(msgspec.Struct, frozen=True, kw_only=True):
    """CPU times of the whole host and of each logical core."""

    overall: CpuTimes
    per_core: list[CpuTimes] = []


class CpuCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Core counts; None where the OS does not say."""

    physical: int | None = None
    logical: int | None = None


class MemoryReading(msgspec.Struct, frozen=True, kw_only=True):
    """Physical memory."""

    total_bytes: int
    available_bytes: int
    used_percent: float


class SwapReading(msgspec.Struct, frozen=True, kw_only=True):
    """Swap space; total 0 when the host has none."""

    total_bytes: int
    used_percent: float


class LoadAverage(msgspec.Struct, frozen=True):
    """Run-queue length averaged over 1, 5 and 15 minutes."""

    one: float
    five: float
    fifteen: float


class Sensors(Protocol):
    """One method per group of readings; any of them may raise, the Collector copes."""

    def cpu_times(self) -> CpuReading:
        """Cumulative CPU times, overall and per core."""
        ...

    def cpu_counts(self) -> CpuCounts:
        """Physical and logical core counts."""
        ...

    def cpu_freq_mhz(self) -> float | None:
        """Current CPU frequency; None when the OS does not expose it."""
        ...

    def memory(self) -> MemoryReading:
        """Physical memory use."""
        ...

    def swap(self) -> SwapReading:
        """Swap use."""
        ...

    def load_average(self) -> LoadAverage:
        """1, 5 and 15-minute load averages."""
        ...

    def boot_time(self) -> float:
        """When the host booted, in epoch seconds."""
        ...

    def disks(self) -> list[Disk]:
        """Usage of real filesystems, each device once."""
        ...

    def disk_io(self) -> DiskIo | None:
        """Disk I/O counters since boot, summed over disks; None where there are none."""
        ...

    def interfaces(self) -> list[Interface]:
        """Network interfaces with counters, link state, speed and addresses."""
        ...

    def default_route_interface(self) -> str | None:
        """Name of the interface carrying the default route, if known."""
        ...

    def temperatures(self) -> dict[str, float]:
        """``"<chip>:<label or index>"`` -> degrees Celsius; empty without sensors."""
        ...

    def gpus(self) -> list[Gpu]:
        """GPUs; empty without NVML."""
        ...

    def processes(self) -> ProcessSnapshot:
        """The whole process table, stamped with a monotonic time."""
        ...

    def system_info(self) -> SystemInfo:
        """OS, kernel, CPU model and hardware vendor."""
        ...


class HostSensors:
    """Reads this host through psutil, /proc and /sys, and NVML when installed."""

    def __init__(self, *, proc_root: Path | None = Path("/proc")) -> None:
        # A raw /proc read costs ~1/6 of psutil.process_iter (bench/bench_collector.py).
        use_proc = proc_root is not None and (proc_root / "self" / "stat").exists()
        self._proc_reader = ProcReader(proc_root) if use_proc and proc_root else None
        self._gpus = GpuReader()
        # What changes rarely is re-read every few seconds, not at every sample: it keeps one
        # collection near 2 ms (bench/bench_collector.py). Counters are read every time.
        self._partitions = Refreshed(read_partitions, MOUNTS_REFRESH_SECONDS)
        # statvfs of a hung network or FUSE mount never returns: each mount within its own
        # deadline, so one costs its own reading, not the others'.
        self._mounts = BoundedReads(MOUNT_TIMEOUT_SECONDS, name="mount")
        self._link_stats = Refreshed(psutil.net_if_stats, LINKS_REFRESH_SECONDS)
        self._addresses = Refreshed(psutil.net_if_addrs, LINKS_REFRESH_SECONDS)
        self._has_temperatures = Refreshed(_any_temperature_sensor, SENSORS_REFRESH_SECONDS)

    def cpu_times(self) -> CpuReading:
        """Cumulative CPU times from psutil.cpu_times, overall and per core."""
        return CpuReading(
            overall=busy_and_total(psutil.cpu_times()._asdict()),
            per_core=[busy_and_total(t._asdict()) for t in psutil.cpu_times(percpu=True)],
        )

    def cpu_counts(self) -> CpuCounts:
        """Core counts from psutil.cpu_count."""
        return CpuCounts(physical=psutil.cpu_count(logical=False), logical=psutil.cpu_count())

    def cpu_freq_mhz(self) -> float | None:
        """psutil.cpu_freq().current; None in VMs and containers that hide it."""
        freq = psutil.cpu_freq()
        if freq is None or not math.isfinite(freq.current) or freq.current <= 0:
            return None
        return float(freq.current)

    def memory(self) -> MemoryReading:
        """psutil.virtual_memory."""
        memory = psutil.virtual_memory()
        return MemoryReading(
            total_bytes=memory.total,
            available_bytes=memory.available,
            used_percent=float(memory.percent),
        )

    def swap(self) -> SwapReading:
        """psutil.swap_memory."""
        swap = psutil.swap_memory()
        return SwapReading(total_bytes=swap.total, used_percent=float(swap.percent))

    def load_average(self) -> LoadAverage:
        """os.getloadavg, emulated by psutil on Windows."""
        one, five, fifteen = psutil.getloadavg() if os.name == "nt" else os.getloadavg()
        return LoadAverage(one, five, fifteen)

    def boot_time(self) -> float:
        """psutil.boot_time."""
        return psutil.boot_time()

    def disks(self) -> list[Disk]:
        """Real filesystems only (see mirror_agent.disks)."""
        return read_disks(self._partitions.get(), self._usage)

    def hung_mounts(self) -> list[str]:
        """The mounts whose usage did not answer in time and has not since, as
        ``disk:<mountpoint>``."""
        return self._mounts.hung()

    def mount_threads(self) -> int:
        """Threads started to read mounts: one more for each mount that hung."""
        return self._mounts.threads()

    def _usage(self, mountpoint: str) -> DiskUsage | None:
        return self._mounts.read(f"disk:{mountpoint}", lambda: psutil.disk_usage(mountpoint), None)

    def disk_io(self) -> DiskIo | None:
        """psutil.disk_io_counters, summed."""
        return read_disk_io()

    def interfaces(self) -> list[Interface]:
        """psutil's per-NIC counters, stats and addresses."""
        return read_interfaces(self._link_stats.get(), self._addresses.get())

    def default_route_interface(self) -> str | None:
        """From /proc/net/route; None elsewhere."""
        return read_default_route_interface()

    def temperatures(self) -> dict[str, float]:
        """psutil.sensors_temperatures, which does not exist on macOS and Windows."""
        read = getattr(psutil, "sensors_temperatures", None)
        if read is None or not self._has_temperatures.get():
            return {}
        temperatures: dict[str, float] = {}
        for chip, entries in read().items():
            for index, entry in enumerate(entries):
                if not CELSIUS_MIN <= entry.current <= CELSIUS_MAX:
                    continue  # a broken sensor's reading (or NaN): the sample would be refused
                key = f"{chip}:{entry.label or index}"
                if key in temperatures:  # two sensors of one chip share a label
                    key = f"{chip}:{entry.label}#{index}"
                temperatures[key] = float(entry.current)
        return temperatures

    def gpus(self) -> list[Gpu]:
        """NVML devices; [] without nvidia-ml-py or a driver."""
        return self._gpus.read()

    def processes(self) -> ProcessSnapshot:
        """Raw /proc on Linux, psutil elsewhere."""
        return read_snapshot(self._proc_reader)

    def system_info(self) -> SystemInfo:
        """os-release, /proc/cpuinfo, DMI and the platform module."""
        return read_system_info()


def _any_temperature_sensor() -> bool:
    """Whether the host exposes any temperature sensor (hwmon or thermal zones)."""
    read = getattr(psutil, "sensors_temperatures", None)
    return read is not None and bool(read())


def busy_and_total(times: dict[str, float]) -> CpuTimes:
    """Fold psutil's platform-specific CPU time fields into busy and total seconds."""
    # psutil's own rule: guest time is already counted in user and nice; iowait is idle.
    total = sum(times.values()) - times.get("guest", 0.0) - times.get("guest_nice", 0.0)
    idle = times.get("idle", 0.0) + times.get("iowait", 0.0)
    return CpuTimes(busy=max(0.0, total - idle), total=total)
