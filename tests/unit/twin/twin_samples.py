"""Samples and lookups shared by the TwinState tests: a fixed clock and one host's readings."""

from datetime import UTC, datetime, timedelta
from typing import Any

from mirror_schema.samples import Interface, MetricSample
from mirror_schema.twin import HostView, LinkView, TwinFrame

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MBIT = 1_000_000


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sample(
    host: str = "web-01",
    seconds: float = 0,
    *,
    sent: int = 0,
    recv: int = 0,
    speed_mbps: float | None = 1000.0,
    **fields: Any,
) -> MetricSample:
    values: dict[str, Any] = {
        "hostname": host,
        "host_id": host,
        "timestamp": at(seconds),
        "cpu_load": 40.0,
        "interval_seconds": 5.0,
        "boot_id": "boot-1",
        "interfaces": [
            Interface(name="lo", bytes_sent=10**9, bytes_recv=10**9),
            Interface(name="eth0", bytes_sent=sent, bytes_recv=recv, speed_mbps=speed_mbps),
        ],
    }
    values.update(fields)
    return MetricSample(**values)


def host_of(frame: TwinFrame, host_id: str) -> HostView:
    return next(host for host in frame.hosts if host.host_id == host_id)


def link_of(frame: TwinFrame, source: str) -> LinkView:
    return next(link for link in frame.links if link.source == source)
