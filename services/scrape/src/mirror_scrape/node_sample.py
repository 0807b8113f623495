"""node_exporter's metrics as a MetricSample, with the agent's own rules.

CPU load is the busy share of the CPU seconds between two scrapes (idle and iowait count as
idle, as the agent counts them); the first scrape of a host gives the average since boot.
Memory used is 100 - MemAvailable/MemTotal. A filesystem's used bytes are size - free and its
percent used / (used + available), as `df` and the agent compute them. Interfaces carry their
counters since boot; temperatures are hwmon's, named `<chip>/<sensor>`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from mirror_agent.collector import derived_tags
from mirror_agent.disks import Partition, real_partitions
from mirror_agent.rates import busy_percent
from mirror_schema.samples import Disk, Interface, MetricSample

__all__ = ["Baseline", "NodeReading", "read_exposition", "to_sample"]

_IDLE_MODES = frozenset({"idle", "iowait"})
_NOT_COUNTED = frozenset({"guest", "guest_nice"})  # already inside user and nice
# The families a sample is made of: the rest of a page is skipped before it is parsed.
_USED_PREFIXES = (
    "node_cpu_seconds_total",
    "node_memory_MemTotal_bytes",
    "node_memory_MemAvailable_bytes",
    "node_memory_SwapTotal_bytes",
    "node_memory_SwapFree_bytes",
    "node_load",
    "node_boot_time_seconds",
    "node_time_seconds",
    "node_filesystem_size_bytes",
    "node_filesystem_free_bytes",
    "node_filesystem_avail_bytes",
    "node_network_",
    "node_hwmon_temp_celsius",
    "node_uname_info",
    "node_exporter_build_info",
)
MAX_LABEL_CHARS = 255
MAX_DISKS = 256
MAX_INTERFACES = 256
MAX_TEMPERATURES = 256


@dataclass
class NodeReading:
    """One scrape: every finite sample of the families used, by metric name."""

    values: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    def one(self, name: str) -> float | None:
        found = self.values.get(name)
        return found[0][1] if found else None

    def each(self, name: str) -> list[tuple[dict[str, str], float]]:
        return self.values.get(name, [])

    def cpu_times(self) -> dict[str, tuple[float, float]]:
        """Per CPU (and "all"): (busy, total) seconds since boot."""
        busy: dict[str, float] = defaultdict(float)
        total: dict[str, float] = defaultdict(float)
        for labels, value in self.each("node_cpu_seconds_total"):
            mode = labels.get("mode", "")
            if mode in _NOT_COUNTED:
                continue
            for cpu in (labels.get("cpu", "?"), "all"):
                total[cpu] += value
                if mode not in _IDLE_MODES:
                    busy[cpu] += value
        return {cpu: (busy[cpu], total[cpu]) for cpu in total}

    def baseline(self) -> Baseline:
        """What the next scrape of this host needs of this one."""
        return Baseline(cpu=self.cpu_times(), boot=self.one("node_boot_time_seconds"))


@dataclass(frozen=True)
class Baseline:
    """Of a host's previous scrape, what its CPU rates are measured from."""

    cpu: dict[str, tuple[float, float]]
    boot: float | None


def _used(line: str) -> bool:
    if line.startswith("#"):
        parts = line.split(maxsplit=3)
        return len(parts) > 2 and parts[2].startswith(_USED_PREFIXES)
    return line.startswith(_USED_PREFIXES)


def read_exposition(text: str) -> NodeReading:
    """Parse node_exporter's text exposition format (ValueError when it is none), keeping the
    families a sample is made of, and only finite values with labels of sane length."""
    reading = NodeReading()
    kept = "\n".join(line for line in text.splitlines() if _used(line)) + "\n"
    for family in text_string_to_metric_families(kept):
        for sample in family.samples:
            value = float(sample.value)
            labels = {str(k): str(v) for k, v in sample.labels.items()}
            if not math.isfinite(value) or any(len(v) > MAX_LABEL_CHARS for v in labels.values()):
                continue
            reading.values.setdefault(sample.name, []).append((labels, value))
    if "node_cpu_seconds_total" not in reading.values:
        raise ValueError("no node_cpu_seconds_total on the page: not a node_exporter's metrics")
    return reading


def _percent(busy_total: tuple[float, float], before: tuple[float, float] | None) -> float:
    if before is not None:
        measured = busy_percent(before[0], before[1], busy_total[0], busy_total[1])
        if measured is not None:
            return round(measured, 2)
    busy, total = busy_total
    return round(min(100.0, max(0.0, busy / total * 100.0)), 2) if total > 0 else 0.0


def _disks(reading: NodeReading) -> list[Disk]:
    def key(labels: dict[str, str]) -> tuple[str, str]:
        return labels.get("device", ""), labels.get("mountpoint", "")

    sizes = {
        key(lab): (lab.get("fstype", ""), v)
        for lab, v in reading.each("node_filesystem_size_bytes")
    }
    free = {key(lab): v for lab, v in reading.each("node_filesystem_free_bytes")}
    avail = {key(lab): v for lab, v in reading.each("node_filesystem_avail_bytes")}
    # As the agent: no pseudo filesystem, and a device mounted several times (bind mounts)
    # once, at its shortest mountpoint.
    partitions = real_partitions(
        Partition(device=device, mountpoint=mountpoint, fstype=fstype)
        for (device, mountpoint), (fstype, _) in sizes.items()
    )
    disks = []
    for partition in partitions[:MAX_DISKS]:
        where = (partition.device, partition.mountpoint)
        size = sizes[where][1]
        if size <= 0:
            continue
        used = max(0.0, size - free.get(where, size))
        room = used + avail.get(where, 0.0)
        disks.append(
            Disk(
                device=partition.device,
                mountpoint=partition.mountpoint,
                fstype=partition.fstype,
                total_bytes=int(size),
                used_bytes=int(used),
                used_percent=round(min(100.0, used / room * 100.0), 1) if room > 0 else 0.0,
            )
        )
    return disks


def _interfaces(reading: NodeReading) -> list[Interface]:
    counters: dict[str, dict[str, float]] = defaultdict(dict)
    names = {
        "node_network_receive_bytes_total": "bytes_recv",
        "node_network_transmit_bytes_total": "bytes_sent",
        "node_network_receive_packets_total": "packets_recv",
        "node_network_transmit_packets_total": "packets_sent",
        "node_network_receive_errs_total": "errin",
        "node_network_transmit_errs_total": "errout",
        "node_network_receive_drop_total": "dropin",
        "node_network_transmit_drop_total": "dropout",
    }
    for metric, field_name in names.items():
        for labels, value in reading.each(metric):
            counters[labels.get("device", "?")][field_name] = value
    up = {lab.get("device"): v for lab, v in reading.each("node_network_up")}
    speed = {lab.get("device"): v for lab, v in reading.each("node_network_speed_bytes")}
    interfaces = []
    for name in sorted(counters)[:MAX_INTERFACES]:
        counted = counters[name]

        def count(field_name: str, counted: dict[str, float] = counted) -> int:
            return int(max(0.0, counted.get(field_name, 0.0)))

        bytes_per_second = speed.get(name, 0.0)
        interfaces.append(
            Interface(
                name=name,
                bytes_sent=count("bytes_sent"),
                bytes_recv=count("bytes_recv"),
                packets_sent=count("packets_sent"),
                packets_recv=count("packets_recv"),
                errin=count("errin"),
                errout=count("errout"),
                dropin=count("dropin"),
                dropout=count("dropout"),
                speed_mbps=bytes_per_second * 8 / 1e6 if bytes_per_second > 0 else None,
                is_up=up.get(name, 0.0) == 1.0 or name == "lo",
            )
        )
    return interfaces


def _temperatures(reading: NodeReading) -> dict[str, float]:
    found = [
        (f"{labels.get('chip', '?')}/{labels.get('sensor', '?')}", round(value, 1))
        for labels, value in reading.each("node_hwmon_temp_celsius")
        if -100.0 < value < 300.0
    ]
    return dict(found[:MAX_TEMPERATURES])


def _platform(reading: NodeReading) -> tuple[str | None, str | None, str | None]:
    """(nodename, platform, kernel) from node_uname_info."""
    found = reading.each("node_uname_info")
    if not found:
        return None, None, None
    labels = found[0][0]
    platform = "-".join(
        p for p in (labels.get("sysname"), labels.get("release"), labels.get("machine")) if p
    )
    return labels.get("nodename"), platform or None, labels.get("release")


def to_sample(
    reading: NodeReading,
    previous: Baseline | None,
    *,
    host_id: str,
    tags: dict[str, str],
    rack: str | None = None,
    at: datetime | None = None,
    exporter_version: str | None = None,
    seq: int | None = None,
    boot_id: str | None = None,
    interval_seconds: float | None = None,
) -> MetricSample:
    """The MetricSample of `reading` (and of the CPU time since `previous`, when there is one)."""
    now = at or datetime.now(UTC)
    cpu = reading.cpu_times()
    boot = reading.one("node_boot_time_seconds")
    # Across a reboot the counters restarted: no interval to measure, the average since boot.
    before = previous.cpu if previous is not None and previous.boot == boot else {}
    cores = sorted((c for c in cpu if c != "all"), key=lambda c: (len(c), c))
    total_memory = reading.one("node_memory_MemTotal_bytes")
    available = reading.one("node_memory_MemAvailable_bytes")
    swap_total = reading.one("node_memory_SwapTotal_bytes")
    swap_free = reading.one("node_memory_SwapFree_bytes")
    clock = reading.one("node_time_seconds")
    disks = _disks(reading)
    interfaces = _interfaces(reading)
    nodename, platform, kernel = _platform(reading)
    return MetricSample(
        hostname=nodename or host_id,
        timestamp=now,
        cpu_load=_percent(cpu["all"], before.get("all")) if "all" in cpu else 0.0,
        cpu_per_core=[_percent(cpu[c], before.get(c)) for c in cores],
        cpu_logical_cores=len(cores) or None,
        memory_used_percent=(
            round(min(100.0, max(0.0, 100.0 - available / total_memory * 100.0)), 1)
            if total_memory and total_memory > 0 and available is not None
            else None
        ),
        memory_total_bytes=int(total_memory) if total_memory and total_memory > 0 else None,
        memory_available_bytes=int(max(0.0, available)) if available is not None else None,
        swap_used_percent=(
            round(min(100.0, max(0.0, 100.0 - (swap_free or 0.0) / swap_total * 100.0)), 1)
            if swap_total
            else (0.0 if swap_total is not None else None)
        ),
        swap_total_bytes=int(max(0.0, swap_total)) if swap_total is not None else None,
        load_average=_non_negative(reading.one("node_load1")),
        load_average_5=_non_negative(reading.one("node_load5")),
        load_average_15=_non_negative(reading.one("node_load15")),
        uptime_seconds=max(0.0, (clock or now.timestamp()) - boot) if boot else None,
        net_bytes_tx=sum(i.bytes_sent for i in interfaces) if interfaces else None,
        net_bytes_rx=sum(i.bytes_recv for i in interfaces) if interfaces else None,
        disks=disks,
        interfaces=interfaces,
        temperatures=_temperatures(reading),
        agent_version=f"node_exporter {exporter_version}" if exporter_version else "node_exporter",
        platform=platform,
        os_kernel=kernel,
        tags={**tags, **derived_tags(disks, interfaces, None)},
        rack=rack,
        host_id=host_id,
        boot_id=boot_id,
        seq=seq,
        interval_seconds=interval_seconds,
        source="scrape",
    )


def _non_negative(value: float | None) -> float | None:
    return None if value is None else max(0.0, value)


def exporter_version(reading: NodeReading) -> str | None:
    """node_exporter's version, from its build info."""
    for labels, _ in reading.each("node_exporter_build_info"):
        return labels.get("version")
    return None
