"""The metric catalogue: every metric a threshold rule may name, its unit, range and resource."""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ["METRICS", "MetricInfo", "known_metrics"]


class MetricInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One metric a rule can watch.

    ``resource_prefix`` is "" for a figure of the host itself, else the prefix of the resource
    each reading belongs to ("disk" -> "disk:/var"). ``minimum``/``maximum`` bound a threshold
    that makes sense for the metric (None: unbounded).
    """

    name: str
    unit: str
    resource_prefix: str
    minimum: float | None
    maximum: float | None
    description: str


def _percent(name: str, prefix: str, description: str) -> MetricInfo:
    return MetricInfo(
        name=name,
        unit="percent",
        resource_prefix=prefix,
        minimum=0.0,
        maximum=100.0,
        description=description,
    )


METRICS: Final[dict[str, MetricInfo]] = {
    info.name: info
    for info in (
        _percent("cpu_load", "", "CPU load of the host, 0-100"),
        _percent("memory_used_percent", "", "memory in use, 0-100"),
        _percent("swap_used_percent", "", "swap in use, 0-100"),
        MetricInfo(
            name="load_average",
            unit="load",
            resource_prefix="",
            minimum=0.0,
            maximum=None,
            description="1-minute load average (runnable tasks, not a percent)",
        ),
        _percent("disk.used_percent", "disk", "used space of one mountpoint, 0-100"),
        MetricInfo(
            name="temperature",
            unit="celsius",
            resource_prefix="temp",
            minimum=None,
            maximum=None,
            description="one temperature sensor, degrees Celsius",
        ),
        # Percent, not mirror_derive's 0..1 fraction: every other utilization in the catalogue
        # (cpu_load, gpu.utilization_percent) is a percent, so one threshold scale fits all.
        _percent(
            "interface.utilization",
            "if",
            "one interface's max(rx, tx) / link capacity, in percent 0-100 (from mirror_derive)",
        ),
        _percent("gpu.utilization_percent", "gpu", "one GPU's utilization, 0-100"),
        MetricInfo(
            name="gpu.temperature_celsius",
            unit="celsius",
            resource_prefix="gpu",
            minimum=None,
            maximum=None,
            description="one GPU's temperature, degrees Celsius",
        ),
    )
}


def known_metrics() -> str:
    """The catalogue's metric names, comma-separated, for error messages."""
    return ", ".join(METRICS)
