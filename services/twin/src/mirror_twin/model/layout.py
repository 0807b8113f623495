"""Where each host sits in the twin: its OSI layer (1-7) and a stable spot on that layer.

The layer comes from the host's tags:

1. ``layer`` or else ``osi``: an integer 1-7 (an ``L`` prefix is allowed: ``L3``). Anything
   else in these tags is ignored.
2. Otherwise keywords in ``tier`` and then ``role``, case-insensitive, split into words on any
   non-alphanumeric character (``core-router`` is ``core``, ``router``); the first word
   found in this table wins:

   ===== =====================================================================
   Layer Keywords
   ===== =====================================================================
   1     access, edge, sensor, client, iot, physical
   2     distribution, aggregation, switch, bridge
   3     core, router, routing, wan, spine
   4     transport, firewall, lb, loadbalancer, balancer
   5     session, gateway, proxy, vpn
   6     presentation, cache, cdn, tls
   7     application, app, service, web, api, db, database, gpu, batch, compute,
         storage, worker
   ===== =====================================================================

3. Otherwise layer 7: an untagged host is most likely a server running applications.

The position is a saved operator placement if there is one, else the agent's own ``position``,
else computed: a slot from a SHA-256 of the host id (stable across restarts and processes,
unlike ``hash()``, and independent of arrival order) placed on a golden-angle (Vogel) spiral,
at the layer's height.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable, Mapping

from mirror_schema.samples import Position

__all__ = [
    "DEFAULT_LAYER",
    "GOLDEN_ANGLE_DEGREES",
    "LAYER_HEIGHT",
    "LAYER_KEYWORDS",
    "SLOTS",
    "SPIRAL_SPACING",
    "layer_of",
    "place",
    "position_on_layer",
    "positions_on_layers",
    "slot_of",
    "spiral_position",
]

LAYER_KEYWORDS: Mapping[str, int] = {
    **dict.fromkeys(("access", "edge", "sensor", "client", "iot", "physical"), 1),
    **dict.fromkeys(("distribution", "aggregation", "switch", "bridge"), 2),
    **dict.fromkeys(("core", "router", "routing", "wan", "spine"), 3),
    **dict.fromkeys(("transport", "firewall", "lb", "loadbalancer", "balancer"), 4),
    **dict.fromkeys(("session", "gateway", "proxy", "vpn"), 5),
    **dict.fromkeys(("presentation", "cache", "cdn", "tls"), 6),
    **dict.fromkeys(
        (
            "application",
            "app",
            "service",
            "web",
            "api",
            "db",
            "database",
            "gpu",
            "batch",
            "compute",
            "storage",
            "worker",
        ),
        7,
    ),
}
DEFAULT_LAYER = 7
GOLDEN_ANGLE_DEGREES = 137.507764
# Slots on one layer. Two host ids share a slot with probability about k**2 / (2 * SLOTS) for
# k hosts on a layer (~1% for 10, ~35% for 60); position_on_layer then gives them the same
# point, and positions_on_layers moves one of them to the next free slot.
SLOTS = 4096
SPIRAL_SPACING = 0.5  # radius of slot s is SPIRAL_SPACING * sqrt(s + 1): at most 32 units
LAYER_HEIGHT = 4.0  # y of layer n is (n - 1) * LAYER_HEIGHT

_EXPLICIT_TAGS = ("layer", "osi")
_KEYWORD_TAGS = ("tier", "role")
_WORD = re.compile(r"[a-z0-9]+")


def _explicit_layer(text: str) -> int | None:
    cleaned = text.strip().lower().removeprefix("l")
    if not cleaned.isdigit():
        return None
    value = int(cleaned)
    return value if 1 <= value <= 7 else None


def layer_of(tags: Mapping[str, str]) -> int:
    """Return the host's OSI layer 1-7 from its tags, by the rules in this module's docstring."""
    for key in _EXPLICIT_TAGS:
        text = tags.get(key)
        if text is not None:
            layer = _explicit_layer(text)
            if layer is not None:
                return layer
    for key in _KEYWORD_TAGS:
        for word in _WORD.findall(tags.get(key, "").lower()):
            keyword_layer = LAYER_KEYWORDS.get(word)
            if keyword_layer is not None:
                return keyword_layer
    return DEFAULT_LAYER


@functools.lru_cache(maxsize=1 << 16)
def slot_of(host_id: str) -> int:
    """Return the host's spiral slot in ``range(SLOTS)``, the same in every process."""
    digest = hashlib.sha256(host_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SLOTS


@functools.lru_cache(maxsize=1 << 16)
def spiral_position(slot: int, layer: int) -> Position:
    """Return the point of ``slot`` on the golden-angle spiral of ``layer`` (y is height)."""
    angle = math.radians(slot * GOLDEN_ANGLE_DEGREES)
    radius = SPIRAL_SPACING * math.sqrt(slot + 1)
    return Position(
        x=radius * math.cos(angle),
        y=(layer - 1) * LAYER_HEIGHT,
        z=radius * math.sin(angle),
    )


def position_on_layer(host_id: str, layer: int) -> Position:
    """Return the host's computed position on ``layer``, a function of its id alone.

    Two ids that share a slot (see ``SLOTS``) get the same point; use
    :func:`positions_on_layers` to spread them when the whole set of hosts is known.
    """
    return spiral_position(slot_of(host_id), layer)


def positions_on_layers(hosts: Iterable[tuple[str, int]]) -> dict[str, Position]:
    """Return computed positions for (host_id, layer) pairs with no two hosts on one point.

    Hosts are taken in host-id order and a host whose slot is taken moves to the next free
    slot, so the result depends on the set of hosts, never on the order they arrived in. A
    host only moves when it collides, which is rare (see ``SLOTS``).
    """
    # Per layer, where to look for a free slot after a taken one (a union-find of runs of
    # taken slots, compressed as it is walked): the next free slot in near-constant time,
    # where probing one slot at a time cost a pass over the whole run.
    following: dict[int, dict[int, int]] = {}
    positions: dict[str, Position] = {}
    for host_id, layer in sorted(set(hosts)):
        runs = following.setdefault(layer, {})
        slot = slot_of(host_id)
        if len(runs) < SLOTS:
            slot = _next_free(runs, slot)
            runs[slot] = (slot + 1) % SLOTS
        # A full layer (SLOTS hosts) shares points rather than failing.
        positions[host_id] = spiral_position(slot, layer)
    return positions


def _next_free(runs: dict[int, int], slot: int) -> int:
    """The first slot at or after `slot` (cyclically) not in `runs`; `runs` must not hold
    every slot."""
    free = slot
    while free in runs:
        free = runs[free]
    while slot in runs and runs[slot] != free:  # point the walked run straight at its end
        runs[slot], slot = free, runs[slot]
    return free


def place(
    host_id: str,
    tags: Mapping[str, str],
    agent_position: Position | None,
    saved_placement: Position | None,
) -> tuple[int, Position]:
    """Return the host's (layer, position): saved placement, else agent position, else computed.

    The layer always comes from the tags; the placements only decide where the host is drawn.
    """
    layer = layer_of(tags)
    if saved_placement is not None:
        return layer, saved_placement
    if agent_position is not None:
        return layer, agent_position
    return layer, position_on_layer(host_id, layer)
