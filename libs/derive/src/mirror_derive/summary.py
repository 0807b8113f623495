"""One-figure summaries of a sample: its hottest sensor and its fullest disk."""

from __future__ import annotations

import math

from mirror_schema.samples import MetricSample

__all__ = ["fullest_disk", "hottest_temperature"]


def hottest_temperature(sample: MetricSample) -> tuple[str, float] | None:
    """Return (sensor, celsius) of the hottest sensor, or None when there is no reading.

    Non-finite readings are skipped; a tie goes to the sensor name that sorts first, so the
    answer does not depend on dict order.
    """
    readings = [
        (name, value) for name, value in sample.temperatures.items() if math.isfinite(value)
    ]
    if not readings:
        return None
    return min(readings, key=lambda reading: (-reading[1], reading[0]))


def fullest_disk(sample: MetricSample) -> tuple[str, float] | None:
    """Return (mountpoint, used_percent) of the fullest disk, or None when there is no disk.

    A tie goes to the mountpoint that sorts first.
    """
    disks = [(disk.mountpoint, disk.used_percent) for disk in sample.disks]
    if not disks:
        return None
    return min(disks, key=lambda disk: (-disk[1], disk[0]))
