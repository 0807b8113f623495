"""OSI layer from tags and a deterministic position on the layer."""

import hashlib
import math
import random

import pytest

from mirror_schema.samples import Position
from mirror_twin.model.layout import (
    LAYER_HEIGHT,
    SLOTS,
    layer_of,
    place,
    position_on_layer,
    positions_on_layers,
    slot_of,
    spiral_position,
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
    hosts = [(f"host-{i}", 1 + i % 7) for i in range(50)]
    shuffled = hosts[:]
    random.Random(7).shuffle(shuffled)

    first = {host_id: position_on_layer(host_id, layer) for host_id, layer in hosts}
    second = {host_id: position_on_layer(host_id, layer) for host_id, layer in shuffled}

    assert first == second
    assert positions_on_layers(hosts) == positions_on_layers(shuffled)


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


def test_positions_on_layers_separate_colliding_hosts() -> None:
    """Hosts sharing a slot on one layer are spread so no two share a point."""
    ids = [f"h{i}" for i in range(400)]  # enough for several slot collisions
    assert len({slot_of(i) for i in ids}) < len(ids)

    positions = positions_on_layers((host_id, 7) for host_id in ids)

    assert len({(p.x, p.y, p.z) for p in positions.values()}) == len(ids)


def test_a_crowded_layer_takes_the_next_free_slot_and_a_full_one_shares() -> None:
    """With more hosts on one layer than it has slots, each of the first SLOTS hosts (in id
    order) takes its own slot or the next free one after it, cyclically, as slot-by-slot
    probing would; the rest share points instead of probing the whole layer."""
    ids = sorted(f"crowd-{i:05d}" for i in range(SLOTS + 500))
    positions = positions_on_layers((host_id, 4) for host_id in ids)

    used: set[int] = set()
    for host_id in ids[:SLOTS]:
        slot = slot_of(host_id)
        while slot in used:
            slot = (slot + 1) % SLOTS
        used.add(slot)
        assert positions[host_id] == spiral_position(slot, 4), host_id
    assert len({(p.x, p.z) for p in positions.values()}) == SLOTS
    for host_id in ids[SLOTS:]:
        assert positions[host_id] == spiral_position(slot_of(host_id), 4)


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
    """Without placements the host goes to its spiral spot on its layer."""
    assert place("web-1", {"tier": "edge"}, None, None) == (1, position_on_layer("web-1", 1))
