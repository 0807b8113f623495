"""Which node each host's link goes up to, and the LinkView drawn for it."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from mirror_derive import Derived
from mirror_schema.twin import LinkView
from mirror_twin.model.patches import significant

__all__ = [
    "HUB_ID",
    "SWITCH_ROLES",
    "UPLINK_TAG",
    "is_rack_switch",
    "link_id",
    "link_view",
    "rack_switches",
    "uplink_target",
]

HUB_ID = "hub"  # the virtual node every host without a known uplink hangs from
UPLINK_TAG = "uplink"
# Words of the ``role`` tag that make a host its rack's switch (``top-of-rack tor`` counts).
SWITCH_ROLES = frozenset({"switch", "tor", "access"})

_WORD = re.compile(r"[a-z0-9]+")


def is_rack_switch(tags: Mapping[str, str]) -> bool:
    """Return True when the ``role`` tag has a word in :data:`SWITCH_ROLES` (case-insensitive)."""
    return any(word in SWITCH_ROLES for word in _WORD.findall(tags.get("role", "").lower()))


def rack_switches(hosts: Iterable[tuple[str, str | None, Mapping[str, str]]]) -> dict[str, str]:
    """Return each rack's switch host id from (host_id, rack, tags) triples.

    A rack with several switches takes the host id that sorts first, so the answer does not
    depend on the order hosts arrived in. Hosts with no rack are not switches of any rack.
    """
    switches: dict[str, str] = {}
    for host_id, rack, tags in hosts:
        if rack is None or not is_rack_switch(tags):
            continue
        held = switches.get(rack)
        if held is None or host_id < held:
            switches[rack] = host_id
    return switches


def uplink_target(
    host_id: str,
    tags: Mapping[str, str],
    rack: str | None,
    known: Collection[str],
    switches: Mapping[str, str],
) -> str:
    """Return the node ``host_id`` links up to: its uplink tag, its rack's switch, or the hub.

    The ``uplink`` tag counts only when it names another known host. A rack switch does not
    link to a switch of its own rack (two switches would link to each other): without an
    uplink tag it goes to the hub.
    """
    tagged = tags.get(UPLINK_TAG)
    if tagged is not None and tagged != host_id and tagged in known:
        return tagged
    if rack is not None and not is_rack_switch(tags):
        switch = switches.get(rack)
        if switch is not None and switch != host_id:
            return switch
    return HUB_ID


def link_id(source: str, target: str) -> str:
    """Return the stable id of the link from ``source`` up to ``target``."""
    return f"{source}->{target}"


def link_view(source: str, target: str, derived: Derived | None) -> LinkView:
    """Return the link from ``source`` to ``target``, carried by the source's primary interface.

    ``throughput_bits_per_s`` is max(rx, tx) of that interface, the same figure utilization divides
    by capacity (a full-duplex link is as busy as its busier direction), so utilization is
    always throughput / capacity. Every figure is None while unknown.
    """
    interface = None if derived is None else derived.primary_interface
    rate = (
        None
        if derived is None or interface is None
        else next((r for r in derived.interfaces if r.name == interface), None)
    )
    throughput = None
    if (
        rate is not None
        and rate.rx_bits_per_second is not None
        and rate.tx_bits_per_second is not None
    ):
        throughput = max(rate.rx_bits_per_second, rate.tx_bits_per_second)
    return LinkView(
        id=link_id(source, target),
        source=source,
        target=target,
        interface=interface,
        throughput_bits_per_s=significant(throughput),
        capacity_bits_per_s=None if rate is None else rate.capacity_bits_per_second,
        utilization=None if rate is None else significant(rate.utilization),
    )
