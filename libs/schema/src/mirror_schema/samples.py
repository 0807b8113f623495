"""MetricSample: one reading of one host, a superset of the original agent's payload."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from mirror_schema.common import (
    AwareDatetime,
    Bytes,
    Celsius,
    Coordinate,
    Count,
    CpuPercent,
    LoadAverage,
    Megabits,
    Megahertz,
    Percent,
    Seconds,
    Watts,
)
from mirror_schema.hosts import HostId

__all__ = [
    "Disk",
    "DiskIo",
    "Gpu",
    "Interface",
    "InterfaceAddress",
    "MetricBatch",
    "MetricSample",
    "Position",
    "TopProcess",
    "decode_batch",
    "decode_sample",
    "decode_samples",
]


class Disk(msgspec.Struct, frozen=True, kw_only=True):
    """One mounted filesystem."""

    device: str
    mountpoint: str
    fstype: str = ""
    total_bytes: Bytes = 0
    used_bytes: Bytes = 0
    used_percent: Percent = 0.0


class DiskIo(msgspec.Struct, frozen=True, kw_only=True):
    """Disk I/O counters since boot, summed over all disks (psutil.disk_io_counters())."""

    read_bytes: Bytes = 0
    write_bytes: Bytes = 0
    read_count: Count = 0
    write_count: Count = 0
    read_time_ms: Count | None = None
    write_time_ms: Count | None = None


class InterfaceAddress(msgspec.Struct, frozen=True, kw_only=True):
    """One address bound to a network interface."""

    family: Literal["ipv4", "ipv6", "mac"]
    address: str
    netmask: str | None = None


class Interface(msgspec.Struct, frozen=True, kw_only=True):
    """One network interface with its counters since boot."""

    name: str
    bytes_sent: Bytes = 0
    bytes_recv: Bytes = 0
    packets_sent: Count = 0
    packets_recv: Count = 0
    errin: Count = 0
    errout: Count = 0
    dropin: Count = 0
    dropout: Count = 0
    # None: the link speed is unknown (loopback, virtual interfaces).
    speed_mbps: Megabits | None = None
    is_up: bool = True
    addresses: list[InterfaceAddress] = []


class TopProcess(msgspec.Struct, frozen=True, kw_only=True):
    """One of the busiest processes of the host."""

    name: str
    pid: Count
    username: str | None = None
    # Not capped at 100: a process using several cores reports more (psutil semantics).
    cpu_percent: CpuPercent = 0.0
    memory_percent: Percent = 0.0


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where the host is drawn in the twin's 3-D space."""

    x: Coordinate = 0.0
    y: Coordinate = 0.0
    z: Coordinate = 0.0


class Gpu(msgspec.Struct, frozen=True, kw_only=True):
    """One GPU of the host."""

    index: Count
    name: str = ""
    utilization_percent: Percent | None = None
    memory_used_bytes: Bytes | None = None
    memory_total_bytes: Bytes | None = None
    temperature_celsius: Celsius | None = None
    power_watts: Watts | None = None


class MetricSample(msgspec.Struct, frozen=True, kw_only=True):
    """One reading of one host. New fields must have defaults; no field changes type.

    Only ``hostname``, ``timestamp`` and ``cpu_load`` are required; a scalar left out is
    ``None`` (unknown), a collection left out is empty. Unknown fields are ignored so newer
    agents can post to older services.
    """

    # The original agent's payload.
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    timestamp: AwareDatetime
    cpu_load: Percent
    cpu_per_core: list[Percent] = []
    cpu_physical_cores: Count | None = None
    cpu_logical_cores: Count | None = None
    cpu_model: str | None = None
    memory_used_percent: Percent | None = None
    memory_total_bytes: Bytes | None = None
    memory_available_bytes: Bytes | None = None
    swap_used_percent: Percent | None = None
    load_average: LoadAverage | None = None  # 1-minute load average
    uptime_seconds: Seconds | None = None
    net_bytes_tx: Bytes | None = None
    net_bytes_rx: Bytes | None = None
    disks: list[Disk] = []
    interfaces: list[Interface] = []
    temperatures: dict[str, Celsius] = {}  # sensor name -> degrees Celsius
    top_processes: list[TopProcess] = []
    agent_version: str | None = None
    platform: str | None = None
    os_distro: str | None = None
    os_release: str | None = None
    os_kernel: str | None = None
    system_model: str | None = None
    system_manufacturer: str | None = None
    tags: dict[str, str] = {}
    rack: str | None = None
    position: Position | None = None
    # Ours adds.
    host_id: HostId | None = None
    # Printable ASCII without spaces: it goes into the Nats-Msg-Id header.
    boot_id: Annotated[str, msgspec.Meta(pattern=r"^[!-~]{1,128}(?!\n)$")] | None = None
    seq: Count | None = None  # increases by one per sample within one boot_id
    interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] | None = None
    load_average_5: LoadAverage | None = None
    load_average_15: LoadAverage | None = None
    cpu_freq_mhz: Megahertz | None = None
    swap_total_bytes: Bytes | None = None
    disk_io: DiskIo | None = None
    gpus: list[Gpu] = []
    # Who read the host: its own agent (None for agents before this field), or the scraper
    # reading its node_exporter, which runs no commands.
    source: Literal["agent", "scrape"] | None = None


class MetricBatch(msgspec.Struct, frozen=True, kw_only=True):
    """The ingest's ``POST /api/metrics/batch`` body."""

    samples: list[MetricSample]


# Decoders are built once: building one compiles the validation plan for the type.
decode_sample = msgspec.json.Decoder(MetricSample).decode
decode_samples = msgspec.json.Decoder(list[MetricSample]).decode
decode_batch = msgspec.json.Decoder(MetricBatch).decode
