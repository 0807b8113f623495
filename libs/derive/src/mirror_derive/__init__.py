"""Figures derived from MetricSamples: one library for the twin and the alerts service."""

from mirror_derive.counters import counter_delta, rate_per_second
from mirror_derive.derive import Derived, derive, primary_interface
from mirror_derive.intervals import DEFAULT_INTERVAL_SECONDS, own_interval, silent_intervals
from mirror_derive.links import (
    InterfaceRate,
    capacity_bits_per_second,
    interface_rates,
    is_loopback,
    parse_speed_mbps,
    total_rates,
)
from mirror_derive.summary import fullest_disk, hottest_temperature

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "Derived",
    "InterfaceRate",
    "capacity_bits_per_second",
    "counter_delta",
    "derive",
    "fullest_disk",
    "hottest_temperature",
    "interface_rates",
    "is_loopback",
    "own_interval",
    "parse_speed_mbps",
    "primary_interface",
    "rate_per_second",
    "silent_intervals",
    "total_rates",
]
