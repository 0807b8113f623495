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
else computed. Computed positions spread each layer's hosts over its whole plate, each rack
in the same region of every plate (:func:`positions_on_layers`): a function of the set of
hosts, so a host keeps its place between reloads and in every replica. Until the twin next
spreads its layers (at most a second later) a new host sits at an interim point from a SHA-256
of its id on a golden-angle (Vogel) spiral, stable across processes (unlike ``hash()``).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from mirror_schema.samples import Position
from mirror_twin.model.links import UPLINK_TAG

__all__ = [
    "DEFAULT_LAYER",
    "GOLDEN_ANGLE_DEGREES",
    "LAYER_HEIGHT",
    "LAYER_KEYWORDS",
    "SLOTS",
    "SPIRAL_SPACING",
    "SPREAD_HALF",
    "Group",
    "group_of",
    "layer_of",
    "natural_key",
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
# Slots of the interim spiral on one layer (two ids may share one for that second).
SLOTS = 4096
SPIRAL_SPACING = 0.5  # radius of slot s is SPIRAL_SPACING * sqrt(s + 1): at most 32 units
LAYER_HEIGHT = 4.0  # y of layer n is (n - 1) * LAYER_HEIGHT
SPREAD_HALF = 32.0  # spread hosts lie within [-SPREAD_HALF, SPREAD_HALF] in x and z
ROOM = 1.2  # grid cells per host when there are groups: room for gaps and fresh strips
REGION_MARGIN = 0.06  # of a rack region's width and depth, kept free on each side

_EXPLICIT_TAGS = ("layer", "osi")
_KEYWORD_TAGS = ("tier", "role")
_WORD = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"(\d+)")


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

    The interim point of a host the twin has not spread yet; two ids may share a slot (see
    ``SLOTS``). :func:`positions_on_layers` spreads them once the set of hosts is known.
    """
    return spiral_position(slot_of(host_id), layer)


class Group(NamedTuple):
    """What a host is spread with: its rack ("" for none) and its role (else uplink) tag."""

    rack: str
    kind: str


def group_of(tags: Mapping[str, str], rack: str | None) -> Group:
    """Return the group a host is spread with: its rack, then its role (or else uplink) tag."""
    return Group(rack or "", tags.get("role") or tags.get(UPLINK_TAG) or "")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digits by value: ``web-2`` before ``web-10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


class _Rect(NamedTuple):
    x0: float
    z0: float
    x1: float
    z1: float


def positions_on_layers(hosts: Iterable[tuple[str, int, Group]]) -> dict[str, Position]:
    """Return computed positions for (host_id, layer, group) triples, spread over each plate.

    Each rack owns the same region of every plate, its area in proportion to its hosts on its
    most crowded layer, so a rack's hosts on L7 sit straight above its switch on L1 and the
    links between them run side by side instead of across the stack; hosts with no rack share
    one region after the racks (the whole plate when no host has a rack). Within its region a
    rack's hosts on one layer are laid on a grid that fills the region, by role and then by id
    (naturally: ``sim-2`` before ``sim-10``), walked so that a role stays in one block. The
    result depends on the set of hosts alone, never on the order they arrived in, so every
    replica and every reload shows a host in the same place.
    """
    cells: dict[tuple[str, int], dict[str, list[str]]] = {}
    for host_id, layer, group in set(hosts):
        cells.setdefault((group.rack, layer), {}).setdefault(group.kind, []).append(host_id)
    crowd: dict[str, int] = {}
    for (rack, _), kinds in cells.items():
        crowd[rack] = max(crowd.get(rack, 0), sum(map(len, kinds.values())))
    racks = sorted(crowd, key=lambda rack: (rack == "", natural_key(rack)))
    regions = _regions([(rack, crowd[rack]) for rack in racks])
    positions: dict[str, Position] = {}
    for (rack, layer), kinds in cells.items():
        ordered = [sorted(kinds[kind], key=natural_key) for kind in sorted(kinds)]
        positions.update(_grid(ordered, layer, regions[rack]))
    return positions


def _regions(weights: list[tuple[str, int]]) -> dict[str, _Rect]:
    """Cut the plate into one region per rack, in order, each of area in proportion to its
    weight: rows of about equal weight, as many as make the regions near square, each row cut
    across by weight. A margin of REGION_MARGIN of each side separates neighbours."""
    plate = _Rect(-SPREAD_HALF, -SPREAD_HALF, SPREAD_HALF, SPREAD_HALF)
    if not weights:
        return {}
    if len(weights) == 1:
        return {weights[0][0]: plate}
    total = sum(weight for _, weight in weights)
    row_count = max(1, round(math.sqrt(len(weights))))
    rows: list[list[tuple[str, int]]] = [[]]
    carried = 0
    for name, weight in weights:
        if rows[-1] and carried + weight / 2 > total * len(rows) / row_count:
            rows.append([])
        rows[-1].append((name, weight))
        carried += weight
    regions: dict[str, _Rect] = {}
    z = -SPREAD_HALF
    for row in rows:
        row_weight = sum(weight for _, weight in row)
        depth = 2 * SPREAD_HALF * row_weight / total
        x = -SPREAD_HALF
        for name, weight in row:
            width = 2 * SPREAD_HALF * weight / row_weight
            mx = width * REGION_MARGIN
            mz = depth * REGION_MARGIN
            regions[name] = _Rect(x + mx, z + mz, x + width - mx, z + depth - mz)
            x += width
        z += depth
    return regions


def _grid(groups: list[list[str]], layer: int, region: _Rect) -> dict[str, Position]:
    """Lay ``groups`` of host ids, in order, on a grid that fills ``region`` of ``layer``."""
    count = sum(map(len, groups))
    width = region.x1 - region.x0
    depth = region.z1 - region.z0
    wanted = count if len(groups) == 1 else math.ceil(count * ROOM) + len(groups) - 1
    # As many columns as make the cells near square in the region's shape.
    columns = max(1, min(wanted, round(math.sqrt(wanted * width / depth))))
    rows = math.ceil(wanted / columns)
    strip = max(1, min(columns, round(math.sqrt(count / len(groups)))))
    cells = _strip_order(rows, columns, strip)
    strip_of_cell = [column // strip for _, column in cells]
    strip_ends = [
        i + 1
        for i in range(len(cells))
        if i + 1 == len(cells) or strip_of_cell[i + 1] != strip_of_cell[i]
    ]
    spare = len(cells) - count
    placed: list[tuple[str, int, int]] = []
    cursor = 0
    for members in groups:
        if cursor and spare:  # a gap after the group before
            cursor += 1
            spare -= 1
        strip_end = next((end for end in strip_ends if end > cursor), cursor)
        left = strip_end - cursor
        if left < len(members) <= rows * strip and left <= spare:  # a fresh strip
            cursor += left
            spare -= left
        for host_id in members:
            placed.append((host_id, *cells[cursor]))
            cursor += 1
    # The spare cells left at the end are whole strips on the right: spread the used columns
    # and rows over the whole region.
    used_columns = max(column for _, _, column in placed) + 1
    used_rows = max(row for _, row, _ in placed) + 1
    x_spacing = width / used_columns
    z_spacing = depth / used_rows
    y = (layer - 1) * LAYER_HEIGHT
    return {
        host_id: Position(
            x=region.x0 + (column + 0.5) * x_spacing,
            y=y,
            z=region.z0 + (row + 0.5) * z_spacing,
        )
        for host_id, row, column in placed
    }


def _strip_order(rows: int, columns: int, width: int) -> list[tuple[int, int]]:
    """Every (row, column) of the grid, strip by strip (``width`` columns each, the last maybe
    narrower), each strip walked so that consecutive cells are neighbours."""
    order: list[tuple[int, int]] = []
    for strip, first in enumerate(range(0, columns, width)):
        strip_columns = list(range(first, min(columns, first + width)))
        strip_rows = range(rows) if strip % 2 == 0 else range(rows - 1, -1, -1)
        for turn, row in enumerate(strip_rows):
            order.extend(
                (row, column)
                for column in (strip_columns if turn % 2 == 0 else reversed(strip_columns))
            )
    return order


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
