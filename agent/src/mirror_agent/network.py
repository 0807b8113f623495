"""Network interfaces with counters and addresses, and which one is the host's primary."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from mirror_schema.samples import Interface, InterfaceAddress

__all__ = [
    "default_route_interface",
    "is_loopback",
    "primary_interface",
    "read_default_route_interface",
    "read_interfaces",
]

ROUTE_PATH = Path("/proc/net/route")
_RTF_UP = 0x1
_LOOPBACK_NAMES = frozenset({"lo", "lo0"})


def read_interfaces(
    stats: Mapping[str, Any] | None = None, addresses: Mapping[str, Any] | None = None
) -> list[Interface]:
    """Every interface with counters since boot, link state, speed and addresses.

    `stats` and `addresses` (psutil.net_if_stats() and net_if_addrs()) may come from a cache:
    they change rarely and cost more than the counters.
    """
    stats = psutil.net_if_stats() if stats is None else stats
    addresses = psutil.net_if_addrs() if addresses is None else addresses
    interfaces: list[Interface] = []
    for name, counters in sorted(psutil.net_io_counters(pernic=True).items()):
        stat = stats.get(name)
        interfaces.append(
            Interface(
                name=name,
                bytes_sent=counters.bytes_sent,
                bytes_recv=counters.bytes_recv,
                packets_sent=counters.packets_sent,
                packets_recv=counters.packets_recv,
                errin=counters.errin,
                errout=counters.errout,
                dropin=counters.dropin,
                dropout=counters.dropout,
                # psutil reports 0 when the speed is unknown (virtual links, loopback).
                speed_mbps=float(stat.speed) if stat is not None and stat.speed > 0 else None,
                is_up=stat.isup if stat is not None else False,
                addresses=[
                    address
                    for entry in addresses.get(name, [])
                    if (address := _address(entry.family, entry.address, entry.netmask))
                ],
            )
        )
    return interfaces


def _address(family: int, address: str, netmask: str | None) -> InterfaceAddress | None:
    if not address:
        return None
    if family == socket.AF_INET:
        return InterfaceAddress(family="ipv4", address=address, netmask=netmask)
    if family == socket.AF_INET6:
        return InterfaceAddress(family="ipv6", address=address, netmask=netmask)
    if family == psutil.AF_LINK:
        return InterfaceAddress(family="mac", address=address)
    return None  # AF_PACKET peers, AF_NETLINK and others the schema does not carry


def default_route_interface(route_table: str) -> str | None:
    """Return the interface of the lowest-metric IPv4 default route in /proc/net/route text."""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        name, destination, _gateway, flags, _refcnt, _use, metric, mask = fields[:8]
        try:
            is_up = int(flags, 16) & _RTF_UP
            candidate = (int(metric), name)
        except ValueError:
            continue
        is_default = destination == "00000000" and mask == "00000000" and is_up
        if is_default and (best is None or candidate < best):
            best = candidate
    return best[1] if best is not None else None


def read_default_route_interface(path: Path = ROUTE_PATH) -> str | None:
    """The default route's interface on Linux; None without /proc/net/route or a default route."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:  # not Linux, or /proc not mounted
        return None
    return default_route_interface(text)


def is_loopback(interface: Interface) -> bool:
    """True for the loopback interface, by name or by a loopback address."""
    if interface.name in _LOOPBACK_NAMES:
        return True
    for address in interface.addresses:
        if address.family == "mac":
            continue
        try:
            if ipaddress.ip_address(address.address.split("%", 1)[0]).is_loopback:
                return True
        except ValueError:
            continue
    return False


def primary_interface(interfaces: list[Interface], default_route: str | None) -> Interface | None:
    """The default route's interface; else the non-loopback up interface with the most traffic."""
    by_name = {interface.name: interface for interface in interfaces}
    if default_route is not None and default_route in by_name:
        return by_name[default_route]
    candidates = [i for i in interfaces if i.is_up and not is_loopback(i)]
    if not candidates:
        return None
    return max(candidates, key=lambda i: (i.bytes_sent + i.bytes_recv, i.name))
