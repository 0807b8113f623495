"""Per-interface throughput and utilization from byte counters of two samples."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import msgspec

from mirror_derive.counters import rate_per_second
from mirror_schema.samples import Interface, MetricSample

__all__ = [
    "PRIMARY_INTERFACE_SPEED_TAG",
    "PRIMARY_INTERFACE_TAG",
    "InterfaceRate",
    "capacity_bits_per_second",
    "interface_rates",
    "is_loopback",
    "parse_speed_mbps",
    "total_rates",
]

PRIMARY_INTERFACE_TAG = "primary_interface"
PRIMARY_INTERFACE_SPEED_TAG = "primary_interface_speed_mbps"

BITS_PER_BYTE = 8
BITS_PER_MEGABIT = 1_000_000  # network speeds are decimal: 1 Mbit/s = 10**6 bit/s

# lo (Linux), lo0 (BSD, macOS), "Loopback Pseudo-Interface 1" (Windows).
_LOOPBACK = re.compile(r"^(lo\d*|loopback.*)$", re.IGNORECASE)


class InterfaceRate(msgspec.Struct, frozen=True, kw_only=True):
    """Throughput of one interface between two samples, in bits per second.

    A rate is None when it cannot be known (first sample, counter reset, new boot).
    ``utilization`` is max(rx, tx) / capacity in 0..1, None when the capacity or a rate is
    unknown: it is never estimated from anything else (the original product used CPU load,
    which raised false congestion alerts).
    """

    name: str
    rx_bits_per_second: float | None
    tx_bits_per_second: float | None
    capacity_bits_per_second: float | None
    utilization: float | None
    is_up: bool


def is_loopback(name: str) -> bool:
    """Return True for a loopback interface, whose traffic never leaves the host."""
    return _LOOPBACK.match(name) is not None


def parse_speed_mbps(text: str | None) -> float | None:
    """Return a link speed in Mbit/s parsed from tag text, or None when it is not a usable one.

    Usable means a finite number greater than zero; "", "fast", "nan", "-1" and "0" are unknown.
    """
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return value


def capacity_bits_per_second(interface: Interface, tags: Mapping[str, str]) -> float | None:
    """Return the interface's capacity in bit/s, or None when it is unknown.

    The interface's own ``speed_mbps`` comes first; psutil reports 0 when it does not know,
    so 0 counts as unknown. Failing that, the interface named by the ``primary_interface`` tag
    takes ``primary_interface_speed_mbps`` (for VMs and bonds whose driver reports no speed).
    """
    speed = interface.speed_mbps
    if speed is not None and math.isfinite(speed) and speed > 0:
        return speed * BITS_PER_MEGABIT
    if tags.get(PRIMARY_INTERFACE_TAG) == interface.name:
        tagged = parse_speed_mbps(tags.get(PRIMARY_INTERFACE_SPEED_TAG))
        if tagged is not None:
            return tagged * BITS_PER_MEGABIT
    return None


def _utilization(rx: float | None, tx: float | None, capacity: float | None) -> float | None:
    if rx is None or tx is None or capacity is None:
        return None
    # Capped at 1: counters read a little late or early can make one interval look faster
    # than the wire; saturation is what the figure means at that point.
    return min(max(rx, tx) / capacity, 1.0)


def _elapsed_seconds(previous: MetricSample | None, current: MetricSample) -> float | None:
    """The seconds between the samples' own timestamps, None when no rate can be taken."""
    if previous is None or previous.boot_id != current.boot_id:
        # A new boot restarted every counter: no delta is meaningful.
        return None
    return (current.timestamp - previous.timestamp).total_seconds()


def interface_rates(previous: MetricSample | None, current: MetricSample) -> list[InterfaceRate]:
    """Return one InterfaceRate per interface of ``current``, in its order.

    Interfaces are matched by name and timed by the samples' own timestamps (not arrival),
    so network delay and batching do not distort rates. Rates are None for an interface new
    since ``previous``, after a counter reset, after a ``boot_id`` change, and when the
    timestamps do not move forward. The capacity is reported even when the rates are not.
    """
    seconds = _elapsed_seconds(previous, current)
    before: dict[str, Interface] = (
        {} if previous is None else {iface.name: iface for iface in previous.interfaces}
    )
    rates: list[InterfaceRate] = []
    for iface in current.interfaces:
        old = before.get(iface.name)
        rx = tx = None
        if old is not None and seconds is not None:
            rx_bytes = rate_per_second(old.bytes_recv, iface.bytes_recv, seconds)
            tx_bytes = rate_per_second(old.bytes_sent, iface.bytes_sent, seconds)
            rx = None if rx_bytes is None else rx_bytes * BITS_PER_BYTE
            tx = None if tx_bytes is None else tx_bytes * BITS_PER_BYTE
        capacity = capacity_bits_per_second(iface, current.tags)
        rates.append(
            InterfaceRate(
                name=iface.name,
                rx_bits_per_second=rx,
                tx_bits_per_second=tx,
                capacity_bits_per_second=capacity,
                utilization=_utilization(rx, tx, capacity),
                is_up=iface.is_up,
            )
        )
    return rates


def total_rates(rates: Iterable[InterfaceRate]) -> tuple[float | None, float | None]:
    """Return the host's total (rx, tx) bit/s over its non-loopback interfaces.

    Loopback is left out: its traffic never leaves the host and would double-count local
    services. A direction is None when any counted interface's rate for it is unknown (a
    partial sum would understate the traffic) or when there is no interface to count.
    """
    counted = [rate for rate in rates if not is_loopback(rate.name)]
    if not counted:
        return None, None
    rx = [rate.rx_bits_per_second for rate in counted]
    tx = [rate.tx_bits_per_second for rate in counted]
    return _sum_known(rx), _sum_known(tx)


def _sum_known(values: list[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total
