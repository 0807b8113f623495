"""Collector: one MetricSample of this host from psutil."""

import os
import platform
import time
from datetime import UTC, datetime

import psutil

from mirror_agent import __version__
from mirror_schema.metrics import Disk, Interface, MetricSample

PSEUDO_FILESYSTEMS = frozenset(
    {"tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "cgroup", "cgroup2", "nsfs"}
)


class Collector:
    """Reads the host; cpu_percent is primed at construction so the first sample is right."""

    def __init__(self, *, host_id: str, hostname: str, boot_id: str) -> None:
        self.host_id = host_id
        self.hostname = hostname
        self.boot_id = boot_id
        psutil.cpu_percent(percpu=True)  # primes the counters: the next call measures an interval
        psutil.cpu_percent()

    def collect(self, *, seq: int, interval_seconds: float, tags: dict[str, str]) -> MetricSample:
        """One sample; a reading that fails leaves its field empty instead of raising."""
        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        net = psutil.net_io_counters()
        load1, load5, load15 = os.getloadavg()
        return MetricSample(
            hostname=self.hostname,
            timestamp=datetime.now(UTC),
            cpu_load=min(100.0, psutil.cpu_percent()),
            cpu_per_core=[min(100.0, value) for value in psutil.cpu_percent(percpu=True)],
            cpu_physical_cores=psutil.cpu_count(logical=False),
            cpu_logical_cores=psutil.cpu_count(),
            cpu_model=platform.processor() or platform.machine(),
            memory_used_percent=memory.percent,
            memory_total_bytes=memory.total,
            memory_available_bytes=memory.available,
            swap_used_percent=swap.percent,
            swap_total_bytes=swap.total,
            load_average=load1,
            load_average_5=load5,
            load_average_15=load15,
            uptime_seconds=max(0.0, time.time() - psutil.boot_time()),
            net_bytes_tx=net.bytes_sent,
            net_bytes_rx=net.bytes_recv,
            disks=_disks(),
            interfaces=_interfaces(),
            agent_version=__version__,
            platform=platform.platform(),
            os_distro=platform.system(),
            os_release=platform.release(),
            os_kernel=platform.version(),
            tags=tags,
            host_id=self.host_id,
            boot_id=self.boot_id,
            seq=seq,
            interval_seconds=interval_seconds,
        )


def _disks() -> list[Disk]:
    disks = []
    seen_devices: set[str] = set()
    for partition in psutil.disk_partitions(all=False):
        if partition.fstype in PSEUDO_FILESYSTEMS or partition.device in seen_devices:
            continue
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue
        seen_devices.add(partition.device)
        disks.append(
            Disk(
                device=partition.device,
                mountpoint=partition.mountpoint,
                fstype=partition.fstype,
                total_bytes=usage.total,
                used_bytes=usage.used,
                used_percent=usage.percent,
            )
        )
    return disks


def _interfaces() -> list[Interface]:
    stats = psutil.net_if_stats()
    interfaces = []
    for name, counters in psutil.net_io_counters(pernic=True).items():
        stat = stats.get(name)
        interfaces.append(
            Interface(
                name=name,
                bytes_sent=counters.bytes_sent,
                bytes_recv=counters.bytes_recv,
                packets_sent=counters.packets_sent,
                packets_recv=counters.packets_recv,
                errin=counters.errin,
                errout=counters.errout,
                dropin=counters.dropin,
                dropout=counters.dropout,
                speed_mbps=float(stat.speed) if stat is not None and stat.speed > 0 else None,
                is_up=stat.isup if stat is not None else False,
            )
        )
    return interfaces
