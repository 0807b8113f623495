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
    Group,
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
    hosts = [(f"host-{i}", 1 + i % 7, Group(f"rack-{i % 3}", "")) for i in range(50)]
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
    positions = positions_on_layers(
        (f"h{i}", 5, Group(f"rack-{i // 40}", "")) for i in range(count)
    )

    points = {(p.x, p.z) for p in positions.values()}
    assert len(points) == count
    assert all(p.y == 4 * LAYER_HEIGHT for p in positions.values())
    xs = [x for x, _ in points]
    zs = [z for _, z in points]
    assert max(map(abs, xs + zs)) <= SPREAD_HALF
    # Reaching out to all four edges of the plate, not bunched in a corner: within half a
    # grid cell of each, or 30 % of the way in from it for the largest cells.
    reach = SPREAD_HALF - max(0.3 * SPREAD_HALF, SPREAD_HALF / math.isqrt(count))
    assert min(xs) <= -reach
    assert max(xs) >= reach
    assert min(zs) <= -reach
    assert max(zs) >= reach


def sim_fleet(count: int) -> list[tuple[str, int, Group]]:
    """As the simulator racks them: 20 a rack, the first its switch on L1, the rest on L7
    and a few on L6."""
    hosts = []
    for i in range(count):
        rack = f"r{i // 20:02d}"
        layer = 1 if i % 20 == 0 else 6 if i % 7 == 0 else 7
        hosts.append((f"sim-{i:04d}", layer, group_of({"role": "x"}, rack)))
    return hosts


def boxes_by_rack(
    hosts: list[tuple[str, int, Group]], positions: dict[str, Position], layer: int
) -> dict[str, tuple[float, float, float, float]]:
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for host_id, on, group in hosts:
        if on != layer:
            continue
        p = positions[host_id]
        x0, z0, x1, z1 = boxes.get(group.rack, (p.x, p.z, p.x, p.z))
        boxes[group.rack] = (min(x0, p.x), min(z0, p.z), max(x1, p.x), max(z1, p.z))
    return boxes


@pytest.mark.parametrize("count", [200, 1000])
def test_each_rack_owns_a_region_of_every_plate(count: int) -> None:
    """A rack's hosts on a layer sit in a block no other rack's hosts enter, and its switch on
    L1 lies straight below its hosts on L7 (inside their block), so their links run side by
    side rather than across the stack."""
    hosts = sim_fleet(count)
    positions = positions_on_layers(hosts)
    top = boxes_by_rack(hosts, positions, 7)
    racks = sorted(top)
    for k, a in enumerate(racks):
        for b in racks[k + 1 :]:
            ax0, az0, ax1, az1 = top[a]
            bx0, bz0, bx1, bz1 = top[b]
            assert ax1 < bx0 or bx1 < ax0 or az1 < bz0 or bz1 < az0, (a, b)
    for host_id, layer, group in hosts:
        if layer == 1:
            p = positions[host_id]
            x0, z0, x1, z1 = top[group.rack]
            assert x0 <= p.x <= x1, host_id
            assert z0 <= p.z <= z1, host_id


def test_hosts_with_no_rack_fill_the_plate_and_racks_come_first() -> None:
    """With no racks at all the hosts fill the whole plate; with racks, the hosts that have
    none take one region of their own, after the racks'."""
    alone = positions_on_layers([(f"h{i}", 7, Group("", "")) for i in range(100)])
    assert min(p.x for p in alone.values()) < -0.8 * SPREAD_HALF
    assert max(p.z for p in alone.values()) > 0.8 * SPREAD_HALF
    mixed = [(f"r{i}", 7, Group(f"rack-{i // 10}", "")) for i in range(40)]
    mixed += [(f"u{i}", 7, Group("", "")) for i in range(10)]
    boxes = boxes_by_rack(mixed, positions_on_layers(mixed), 7)
    ux0, uz0, ux1, uz1 = boxes[""]
    for rack in ("rack-0", "rack-1", "rack-2", "rack-3"):
        x0, z0, x1, z1 = boxes[rack]
        assert x1 < ux0 or ux1 < x0 or z1 < uz0 or uz1 < z0, rack
    assert uz1 == max(box[3] for box in boxes.values())  # in the last row of regions


def test_ids_sort_by_number_and_groups_come_from_rack_and_role() -> None:
    """sim-2 sits before sim-10 (natural order); a group is the rack and the role, else the
    uplink tag."""
    assert natural_key("sim-2") < natural_key("sim-10")
    assert group_of({"role": "db"}, "r1") == Group("r1", "db")
    assert group_of({"uplink": "tor-1"}, None) == Group("", "tor-1")
    assert group_of({}, None) == Group("", "")


def test_a_host_keeps_its_place_when_others_join_another_layer() -> None:
    """Spreading is per layer: a newcomer on another layer moves no one on this one."""
    none = Group("", "")
    before = positions_on_layers([("a", 7, none), ("b", 7, none)])
    after = positions_on_layers([("a", 7, none), ("b", 7, none), ("c", 3, none)])

    assert after["a"] == before["a"]
    assert after["b"] == before["b"]


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
