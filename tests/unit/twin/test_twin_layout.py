"""OSI layer from tags and a deterministic position on the layer."""

import hashlib
import math
import random

import pytest

from mirror_schema.samples import Position
from mirror_twin.model.layout import (
    LAYER_HEIGHT,
    SLOTS,
    SPREAD_HALF,
    group_of,
    layer_of,
    natural_key,
    place,
    position_on_layer,
    positions_on_layers,
    slot_of,
)


@pytest.mark.parametrize(
    ("tags", "layer"),
    [
        ({"tier": "access"}, 1),
        ({"role": "edge"}, 1),
        ({"tier": "distribution"}, 2),
        ({"tier": "Aggregation"}, 2),
        ({"role": "core"}, 3),
        ({"role": "ROUTER"}, 3),
        ({"tier": "wan"}, 3),
        ({"role": "firewall"}, 4),
        ({"role": "lb"}, 4),
        ({"role": "proxy"}, 5),
        ({"role": "gateway"}, 5),
        ({"role": "cache"}, 6),
        ({"role": "cdn"}, 6),
        ({"role": "service"}, 7),
        ({"role": "app"}, 7),
        ({"role": "db"}, 7),
        ({"role": "gpu"}, 7),
    ],
)
def test_keyword_table(tags: dict[str, str], layer: int) -> None:
    """tier/role keywords map to layers, case-insensitively, as the module documents."""
    assert layer_of(tags) == layer


def test_keywords_are_found_inside_compound_values() -> None:
    """'core-router' and 'edge_switch' are split into words; the first known word wins."""
    assert layer_of({"role": "core-router"}) == 3
    assert layer_of({"role": "edge_switch"}) == 1


def test_tier_is_read_before_role() -> None:
    """When both carry a keyword, tier decides."""
    assert layer_of({"tier": "distribution", "role": "db"}) == 2


@pytest.mark.parametrize(
    ("tags", "layer"),
    [
        ({"layer": "3", "role": "db"}, 3),
        ({"osi": "2", "tier": "core"}, 2),
        ({"layer": " L4 "}, 4),
        ({"layer": "5", "osi": "1"}, 5),
    ],
)
def test_explicit_layer_tag_wins(tags: dict[str, str], layer: int) -> None:
    """A valid layer (or else osi) tag 1-7 overrides keywords."""
    assert layer_of(tags) == layer


@pytest.mark.parametrize("text", ["0", "8", "-1", "three", "", "3.5"])
def test_invalid_explicit_layer_falls_through_to_keywords(text: str) -> None:
    """A layer tag that is not an integer 1-7 is ignored."""
    assert layer_of({"layer": text, "role": "router"}) == 3


def test_untagged_host_defaults_to_layer_7() -> None:
    """No usable tag puts the host on the application layer."""
    assert layer_of({}) == 7
    assert layer_of({"role": "mystery"}) == 7


def test_positions_are_deterministic_across_runs_and_arrival_orders() -> None:
    """Two runs that meet the same hosts in different orders place each host identically."""
    hosts = [(f"host-{i}", 1 + i % 7, f"rack-{i % 3}") for i in range(50)]
    shuffled = hosts[:]
    random.Random(7).shuffle(shuffled)

    assert positions_on_layers(hosts) == positions_on_layers(shuffled)
    assert all(
        position_on_layer(host_id, layer) == position_on_layer(host_id, layer)
        for host_id, layer, _ in shuffled
    )


def test_known_position_is_stable_across_processes() -> None:
    """The slot comes from SHA-256 of the id, so a restart gives the same one (not hash())."""
    expected = int.from_bytes(hashlib.sha256(b"web-1").digest()[:8], "big") % SLOTS

    assert slot_of("web-1") == expected


def test_height_follows_the_layer_and_radius_the_spiral() -> None:
    """y is (layer - 1) * LAYER_HEIGHT; x/z lie on the spiral of the host's slot."""
    position = position_on_layer("web-1", 3)
    radius = math.hypot(position.x, position.z)

    assert position.y == 2 * LAYER_HEIGHT
    assert radius == pytest.approx(0.5 * math.sqrt(slot_of("web-1") + 1))


@pytest.mark.parametrize("count", [1, 2, 5, 29, 200, 1000, 10_000])
def test_a_layer_is_spread_over_its_whole_plate_with_no_two_hosts_on_one_point(count: int) -> None:
    """Any number of hosts fills the plate: distinct points, all within SPREAD_HALF, and (from
    a handful on) reaching out to within one grid cell of each edge of the plate."""
    positions = positions_on_layers((f"h{i}", 5, f"rack-{i // 40}") for i in range(count))

    points = {(p.x, p.z) for p in positions.values()}
    assert len(points) == count
    assert all(p.y == 4 * LAYER_HEIGHT for p in positions.values())
    xs = [x for x, _ in points]
    zs = [z for _, z in points]
    assert max(map(abs, xs + zs)) <= SPREAD_HALF
    if count >= 5:
        columns = len(set(xs))
        rows = len(set(zs))
        assert columns * rows >= count
        assert max(columns, rows) <= 1.25 * min(columns, rows) + 1  # near square
        for extreme, cell in (
            (min(xs), columns),
            (-max(xs), columns),
            (min(zs), rows),
            (-max(zs), rows),
        ):
            assert extreme <= -SPREAD_HALF + 2 * SPREAD_HALF / cell, (count, extreme)


def test_hosts_of_one_rack_sit_together_in_a_compact_block() -> None:
    """Grouped by rack: each rack's hosts form one connected patch of neighbouring grid cells,
    about as deep as it is wide (its bounding box at most twice its size), not a long line."""
    hosts = [
        (f"sim-{i:04d}", 7, group_of({"role": "service"}, f"r01-{i // 20 + 1:02d}"))
        for i in range(200)
    ]
    positions = positions_on_layers(hosts)
    xs = sorted({p.x for p in positions.values()})
    zs = sorted({p.z for p in positions.values()})
    cell_of = {h: (xs.index(p.x), zs.index(p.z)) for h, p in positions.items()}
    by_rack: dict[str, set[tuple[int, int]]] = {}
    for host_id, _, group in hosts:
        by_rack.setdefault(group, set()).add(cell_of[host_id])

    for cells in by_rack.values():
        reached = {next(iter(cells))}
        frontier = list(reached)
        while frontier:
            x, z = frontier.pop()
            for near in ((x + 1, z), (x - 1, z), (x, z + 1), (x, z - 1)):
                if near in cells and near not in reached:
                    reached.add(near)
                    frontier.append(near)
        assert reached == cells
        width = max(x for x, _ in cells) - min(x for x, _ in cells) + 1
        depth = max(z for _, z in cells) - min(z for _, z in cells) + 1
        assert width * depth <= 2 * len(cells), cells


def test_ids_sort_by_number_and_racked_hosts_come_before_unracked() -> None:
    """sim-2 sits before sim-10 (natural order), and a host with no rack after those with one."""
    assert natural_key("sim-2") < natural_key("sim-10")
    assert group_of({}, "r1") < group_of({}, None)
    assert group_of({"role": "db"}, "r1") != group_of({"role": "web"}, "r1")
    assert group_of({"uplink": "tor-1"}, None) != group_of({}, None)


def test_a_host_keeps_its_place_when_others_join_another_layer() -> None:
    """Spreading is per layer: a newcomer on another layer moves no one on this one."""
    before = positions_on_layers([("a", 7, ""), ("b", 7, "")])
    after = positions_on_layers([("a", 7, ""), ("b", 7, ""), ("c", 3, "")])

    assert after["a"] == before["a"] and after["b"] == before["b"]


def test_saved_placement_wins_over_agent_position_and_computed() -> None:
    """An operator's saved placement beats the agent's position; the layer still follows tags."""
    saved = Position(x=1, y=2, z=3)
    agent = Position(x=9, y=9, z=9)

    assert place("web-1", {"role": "core"}, agent, saved) == (3, saved)


def test_agent_position_wins_over_computed() -> None:
    """Without a saved placement the agent's own position is used."""
    agent = Position(x=9, y=9, z=9)

    assert place("web-1", {}, agent, None) == (7, agent)


def test_computed_position_when_nothing_is_given() -> None:
    """Without placements the host goes to its interim spiral spot on its layer (the twin
    spreads it over the plate with the others a moment later)."""
    assert place("web-1", {"tier": "edge"}, None, None) == (1, position_on_layer("web-1", 1))
