"""Readings: the (metric, resource, value) figures of one sample that rules are checked against."""

from __future__ import annotations

import math
from collections.abc import Container
from typing import Final, NamedTuple

from mirror_alerts.catalogue import METRICS
from mirror_derive import interface_rates
from mirror_schema.samples import MetricSample

__all__ = ["ALL_METRICS", "Reading", "readings"]

ALL_METRICS: Final = frozenset(METRICS)
PERCENT_PER_FRACTION: Final = 100.0


class Reading(NamedTuple):
    """One figure of one host: ``resource`` is "" for the host itself, else e.g. "disk:/"."""

    metric: str
    resource: str
    value: float


def readings(
    previous: MetricSample | None,
    current: MetricSample,
    wanted: Container[str] = ALL_METRICS,
) -> list[Reading]:
    """Return the readings of ``current`` for the metrics in ``wanted``.

    ``previous`` is the same host's preceding sample, needed for interface utilization, which
    comes from :func:`mirror_derive.interface_rates` (the twin's own code) times 100. A figure
    that is unknown (None, not finite, no link capacity, first sample) gives no reading: a
    rule never sees a made-up value.
    """
    out: list[Reading] = []
    _host_figure(out, wanted, "cpu_load", current.cpu_load)
    _host_figure(out, wanted, "memory_used_percent", current.memory_used_percent)
    _host_figure(out, wanted, "swap_used_percent", current.swap_used_percent)
    _host_figure(out, wanted, "load_average", current.load_average)
    if "disk.used_percent" in wanted:
        for disk in current.disks:
            out.append(Reading("disk.used_percent", f"disk:{disk.mountpoint}", disk.used_percent))
    if "temperature" in wanted:
        for sensor, celsius in current.temperatures.items():
            if math.isfinite(celsius):
                out.append(Reading("temperature", f"temp:{sensor}", celsius))
    if "interface.utilization" in wanted and current.interfaces:
        for rate in interface_rates(previous, current):
            if rate.utilization is not None:
                value = rate.utilization * PERCENT_PER_FRACTION
                out.append(Reading("interface.utilization", f"if:{rate.name}", value))
    if current.gpus:
        _gpu_readings(out, wanted, current)
    return out


def _host_figure(
    out: list[Reading], wanted: Container[str], metric: str, value: float | None
) -> None:
    if value is not None and metric in wanted and math.isfinite(value):
        out.append(Reading(metric, "", value))


def _gpu_readings(out: list[Reading], wanted: Container[str], current: MetricSample) -> None:
    utilization = "gpu.utilization_percent" in wanted
    temperature = "gpu.temperature_celsius" in wanted
    for gpu in current.gpus:
        resource = f"gpu:{gpu.index}"
        if utilization and gpu.utilization_percent is not None:
            out.append(Reading("gpu.utilization_percent", resource, gpu.utilization_percent))
        celsius = gpu.temperature_celsius
        if temperature and celsius is not None and math.isfinite(celsius):
            out.append(Reading("gpu.temperature_celsius", resource, celsius))
