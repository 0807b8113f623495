"""Everything derived from a host's latest sample and the one before it, in one Struct."""

from __future__ import annotations

import msgspec

from mirror_derive.links import (
    PRIMARY_INTERFACE_TAG,
    InterfaceRate,
    interface_rates,
    is_loopback,
    total_rates,
)
from mirror_derive.summary import fullest_disk, hottest_temperature
from mirror_schema.samples import MetricSample

__all__ = ["Derived", "derive", "primary_interface"]


class Derived(msgspec.Struct, frozen=True, kw_only=True):
    """Figures derived from a sample; None everywhere means "unknown", never zero."""

    interfaces: list[InterfaceRate]
    total_rx_bits_per_second: float | None
    total_tx_bits_per_second: float | None
    primary_interface: str | None
    primary_utilization: float | None
    hottest: tuple[str, float] | None  # (sensor, celsius)
    fullest: tuple[str, float] | None  # (mountpoint, used_percent)


def primary_interface(sample: MetricSample) -> str | None:
    """Return the host's primary interface name, or None when it has no candidate.

    The ``primary_interface`` tag wins when it names an interface of the sample; otherwise
    the non-loopback interface that has moved the most bytes since boot (ties by name), which
    needs no previous sample and so does not flicker between samples.
    """
    names = {iface.name for iface in sample.interfaces}
    tagged = sample.tags.get(PRIMARY_INTERFACE_TAG)
    if tagged is not None and tagged in names:
        return tagged
    candidates = [iface for iface in sample.interfaces if not is_loopback(iface.name)]
    if not candidates:
        return None
    best = min(candidates, key=lambda i: (-(i.bytes_sent + i.bytes_recv), i.name))
    return best.name


def derive(previous: MetricSample | None, current: MetricSample) -> Derived:
    """Return the figures derived from ``current``, with rates taken against ``previous``.

    ``previous`` should be the same host's preceding sample; None (first sample) leaves every
    rate unknown.
    """
    rates = interface_rates(previous, current)
    total_rx, total_tx = total_rates(rates)
    primary = primary_interface(current)
    utilization = next(
        (rate.utilization for rate in rates if rate.name == primary),
        None,
    )
    return Derived(
        interfaces=rates,
        total_rx_bits_per_second=total_rx,
        total_tx_bits_per_second=total_tx,
        primary_interface=primary,
        primary_utilization=utilization,
        hottest=hottest_temperature(current),
        fullest=fullest_disk(current),
    )
