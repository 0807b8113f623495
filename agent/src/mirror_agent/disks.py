"""Disk usage of real filesystems only, each device once, and the summed I/O counters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec
import psutil

from mirror_schema.samples import Disk, DiskIo

__all__ = [
    "FUSE_HELPERS",
    "PSEUDO_FILESYSTEMS",
    "Partition",
    "is_pseudo_filesystem",
    "read_disk_io",
    "read_disks",
    "read_partitions",
    "real_partitions",
]

PSEUDO_FILESYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "configfs",
        "debugfs",
        "devfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "none",
        "nsfs",
        "overlay",
        "overlayfs",
        "proc",
        "pstore",
        "ramfs",
        "rootfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
        "nfsd",
    }
)
# FUSE filesystems that expose desktop or container plumbing rather than storage.
FUSE_HELPERS = frozenset(
    {
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "fuse.xdg-document-portal",
        "fuse.lxcfs",
        "fuse.snapfuse",
        "fuse.kio-fuse",
        "fuse.doc",
        "fuse.appimaged",
    }
)


class DiskUsage(Protocol):
    """What psutil.disk_usage answers, as far as read_disks reads it."""

    @property
    def total(self) -> int: ...
    @property
    def used(self) -> int: ...
    @property
    def percent(self) -> float: ...


class Partition(msgspec.Struct, frozen=True, kw_only=True):
    """One mount table entry."""

    device: str
    mountpoint: str
    fstype: str


def is_pseudo_filesystem(fstype: str) -> bool:
    """True for kernel, memory and helper filesystems that hold no user data on a disk."""
    return (
        not fstype  # Windows: a drive with no medium
        or fstype in PSEUDO_FILESYSTEMS
        or fstype in FUSE_HELPERS
        or fstype.startswith("cgroup")
    )


def real_partitions(partitions: Iterable[Partition]) -> list[Partition]:
    """Drop pseudo filesystems; a device mounted several times (bind mounts) keeps its shortest
    mountpoint. The result is sorted by mountpoint."""
    kept: dict[str, Partition] = {}
    for partition in partitions:
        if is_pseudo_filesystem(partition.fstype) or not partition.device:
            continue
        current = kept.get(partition.device)
        if current is None or _shorter(partition.mountpoint, current.mountpoint):
            kept[partition.device] = partition
    return sorted(kept.values(), key=lambda partition: partition.mountpoint)


def _shorter(candidate: str, current: str) -> bool:
    return (len(candidate), candidate) < (len(current), current)


def read_partitions() -> list[Partition]:
    """The real filesystems of the mount table (see real_partitions)."""
    return real_partitions(
        [
            Partition(device=part.device, mountpoint=part.mountpoint, fstype=part.fstype)
            for part in psutil.disk_partitions(all=True)
        ]
    )


def read_disks(
    partitions: list[Partition] | None = None,
    usage_of: Callable[[str], DiskUsage | None] = psutil.disk_usage,
) -> list[Disk]:
    """Usage of every real filesystem; one that vanished, is not readable or does not answer
    (`usage_of` gives None: see HostSensors, which bounds each mount's time) is left out.

    `partitions` may come from a cache of read_partitions(): mounts change rarely.
    """
    disks: list[Disk] = []
    for partition in read_partitions() if partitions is None else partitions:
        try:
            usage = usage_of(partition.mountpoint)
        except OSError:  # unmounted since the mount table was read, or not permitted
            continue
        if usage is None or usage.total == 0:  # a pseudo filesystem the list above does not know
            continue
        disks.append(
            Disk(
                device=partition.device,
                mountpoint=partition.mountpoint,
                fstype=partition.fstype,
                total_bytes=usage.total,
                used_bytes=usage.used,
                used_percent=min(100.0, max(0.0, usage.percent)),
            )
        )
    return disks


def read_disk_io() -> DiskIo | None:
    """Disk I/O counters since boot summed over all disks; None where the OS has none."""
    counters = psutil.disk_io_counters(perdisk=False)
    if counters is None:  # no disks, or /proc/diskstats missing (some containers)
        return None
    return DiskIo(
        read_bytes=counters.read_bytes,
        write_bytes=counters.write_bytes,
        read_count=counters.read_count,
        write_count=counters.write_count,
        read_time_ms=getattr(counters, "read_time", None),
        write_time_ms=getattr(counters, "write_time", None),
    )
