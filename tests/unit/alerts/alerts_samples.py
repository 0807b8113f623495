"""Samples, rules and a fake clock shared by the alerts tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from mirror_alerts.rules import ThresholdRule
from mirror_schema.samples import Interface, MetricSample

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sample(seconds: float, host: str = "web-01", **fields: Any) -> MetricSample:
    values: dict[str, Any] = {
        "hostname": host,
        "host_id": host,
        "timestamp": at(seconds),
        "cpu_load": 10.0,
        "interval_seconds": 5.0,
        "boot_id": "boot-1",
    }
    values.update(fields)
    return MetricSample(**values)


def eth0(sent: int, recv: int = 0, speed_mbps: float | None = 1000.0) -> list[Interface]:
    return [
        Interface(name="lo", bytes_sent=10**9, bytes_recv=10**9),
        Interface(name="eth0", bytes_sent=sent, bytes_recv=recv, speed_mbps=speed_mbps),
    ]


def cpu_rule(**fields: Any) -> ThresholdRule:
    values: dict[str, Any] = {
        "id": "cpu-high",
        "name": "CPU high",
        "metric": "cpu_load",
        "operator": ">",
        "threshold": 90.0,
        "clear_threshold": 80.0,
        "for_seconds": 30.0,
        "severity": "critical",
    }
    values.update(fields)
    return ThresholdRule(**values)
