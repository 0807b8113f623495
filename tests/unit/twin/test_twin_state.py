"""TwinState folds samples into host views, links, frames and diffs, with a fake clock."""

from typing import Any

import msgspec
import pytest
from twin_samples import MBIT, at, host_of, link_of, sample

from mirror_schema.codec import decode_twin_message, encode
from mirror_schema.samples import Disk, Gpu, Position
from mirror_schema.twin import TwinDiff
from mirror_twin.model import twin_state
from mirror_twin.model.layout import Group, positions_on_layers
from mirror_twin.model.links import HUB_ID
from mirror_twin.model.twin_state import TwinState


def test_a_sample_puts_the_host_in_the_frame_with_derived_figures() -> None:
    """Readings come from the sample, summaries from derive(); rates stay unknown at first."""
    twin = TwinState("lab")
    twin.apply(
        sample(
            memory_used_percent=61.5,
            disks=[
                Disk(device="sda1", mountpoint="/", used_percent=30.0),
                Disk(device="sdb1", mountpoint="/data", used_percent=92.0),
            ],
            temperatures={"cpu": 71.0, "nvme": 48.0},
            gpus=[Gpu(index=0, utilization_percent=20.0), Gpu(index=1, utilization_percent=60.0)],
            tags={"role": "web"},
        ),
        at(1),
    )

    frame = twin.frame(1, at(1))

    host = host_of(frame, "web-01")
    assert (frame.twin_id, frame.seq, frame.generated_at) == ("lab", 1, at(1))
    assert host.status == "online"
    assert host.last_seen == at(0)
    assert (host.cpu_load, host.memory_used_percent) == (40.0, 61.5)
    assert host.disk_used_percent == 92.0
    assert host.temperature_max_celsius == 71.0
    assert (host.gpu_count, host.gpu_utilization_percent) == (2, 40.0)
    assert host.layer == 7
    assert host.net_tx_bits_per_s is None
    assert host.net_rx_bits_per_s is None
    assert host.swap_used_percent is None  # not in the sample: unknown, not zero


def test_a_second_sample_gives_rates_and_link_throughput() -> None:
    """Counter deltas over the samples' own timestamps give bit/s; utilization uses capacity."""
    twin = TwinState("lab")
    twin.apply(sample(seconds=0, sent=0, recv=0), at(0))
    twin.apply(sample(seconds=10, sent=12_500_000, recv=25_000_000), at(10))

    frame = twin.frame(1, at(10))

    host = host_of(frame, "web-01")
    assert host.net_tx_bits_per_s == 10 * MBIT
    assert host.net_rx_bits_per_s == 20 * MBIT  # loopback left out
    link = link_of(frame, "web-01")
    assert link.interface == "eth0"
    assert link.throughput_bits_per_s == 20 * MBIT  # the busier direction
    assert link.capacity_bits_per_s == 1000 * MBIT
    assert link.utilization == pytest.approx(0.02)


def test_link_figures_stay_unknown_without_a_speed() -> None:
    """An interface with no known speed has a throughput but no capacity or utilization."""
    twin = TwinState("lab")
    twin.apply(sample(seconds=0, speed_mbps=None), at(0))
    twin.apply(sample(seconds=10, sent=10, recv=10, speed_mbps=None), at(10))

    link = link_of(twin.frame(1, at(10)), "web-01")

    assert link.throughput_bits_per_s == 8.0
    assert link.capacity_bits_per_s is None
    assert link.utilization is None


def test_a_late_sample_is_ignored() -> None:
    """A sample older than (or as old as) the held one does not roll the twin back."""
    twin = TwinState("lab")
    twin.apply(sample(seconds=10, cpu_load=90.0), at(10))
    twin.take_diff(1, at(10))

    twin.apply(sample(seconds=5, cpu_load=10.0), at(11))
    twin.apply(sample(seconds=10, cpu_load=20.0), at(11))

    assert twin.take_diff(2, at(11)) is None
    host = host_of(twin.frame(3, at(11)), "web-01")
    assert (host.cpu_load, host.last_seen) == (90.0, at(10))


def test_a_silent_host_goes_stale_then_offline_through_sweep() -> None:
    """Sweeps turn silence into status events, delivered in the next diff with the host."""
    twin = TwinState("lab")
    twin.apply(sample(), at(0))
    first = twin.take_diff(1, at(0))
    assert first is not None
    assert [(e.kind, e.current) for e in first.events] == [("host_added", "online")]

    twin.sweep(at(15))
    assert twin.take_diff(2, at(15)) is None  # exactly on the threshold: still online

    twin.sweep(at(16))
    stale = twin.take_diff(3, at(16))
    twin.sweep(at(61))
    offline = twin.take_diff(4, at(61))

    assert stale is not None
    assert offline is not None
    assert [(e.kind, e.previous, e.current) for e in stale.events] == [
        ("status_changed", "online", "stale")
    ]
    assert [h.status for h in stale.hosts] == ["stale"]
    assert [(e.previous, e.current, e.timestamp) for e in offline.events] == [
        ("stale", "offline", at(61))
    ]
    assert [h.status for h in offline.hosts] == ["offline"]


def test_take_diff_holds_only_changed_hosts_then_none() -> None:
    """A diff carries the hosts changed since the last frame or diff, then None."""
    twin = TwinState("lab")
    twin.apply(sample("web-01"), at(0))
    twin.apply(sample("web-02"), at(0))
    assert len(twin.frame(5, at(0)).hosts) == 2
    added = twin.take_diff(6, at(0))  # events are not in frames: they wait for a diff
    assert added is not None
    assert (added.hosts, [e.kind for e in added.events]) == ([], ["host_added"] * 2)
    twin.frame(7, at(0))

    twin.apply(sample("web-02", seconds=5, sent=100, recv=100), at(5))
    diff = twin.take_diff(8, at(5))

    assert diff is not None
    assert (diff.seq, diff.base_seq) == (8, 7)
    assert [h.host_id for h in diff.hosts] == ["web-02"]
    assert [link.id for link in diff.links] == ["web-02->hub"]
    assert diff.events == []
    assert twin.take_diff(9, at(5)) is None
    assert twin.seq == 8  # a None diff keeps the baseline


def test_seq_must_increase() -> None:
    """A frame or diff with a seq not above the last one is refused."""
    twin = TwinState("lab")
    twin.frame(3, at(0))
    twin.apply(sample(), at(0))

    with pytest.raises(ValueError, match="greater than the last seq 3"):
        twin.take_diff(3, at(0))
    with pytest.raises(ValueError, match="greater than the last seq 3"):
        twin.frame(2, at(0))


def test_a_saved_placement_overrides_position_and_layer() -> None:
    """The operator's placement beats the agent's position; its layer beats the tags'."""
    twin = TwinState("lab")
    twin.apply(sample(position=Position(x=1, y=2, z=3), tags={"role": "db"}), at(0))
    twin.frame(1, at(0))

    twin.set_placement("web-01", 2, Position(x=9, y=9, z=9))
    diff = twin.take_diff(2, at(0))

    assert diff is not None
    assert [(h.layer, h.position) for h in diff.hosts] == [(2, Position(x=9, y=9, z=9))]


def test_without_placement_the_position_is_computed() -> None:
    """A host with no placement and no agent position is spread on its layer with the others:
    alone on it, at the plate's centre."""
    twin = TwinState("lab")
    twin.apply(sample(tags={"role": "switch"}), at(0))

    host = host_of(twin.frame(1, at(0)), "web-01")

    assert host.layer == 2
    assert host.position == positions_on_layers([("web-01", 2, Group("", "switch"))])["web-01"]
    assert (host.position.x, host.position.z) == (0.0, 0.0)


def test_a_fleet_appearing_at_once_is_spread_once_per_diff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 new hosts between two diffs cost one spread of the layers, not one per host (which
    made a fleet of thousands appearing at once quadratic), and no two of them share a point;
    diffs spread at most once a second."""
    spreads = 0

    def counted(pairs: Any) -> dict[str, Position]:
        nonlocal spreads
        spreads += 1
        return positions_on_layers(pairs)

    monkeypatch.setattr(twin_state, "positions_on_layers", counted)
    twin = TwinState("lab")
    twin.frame(1, at(0))
    for k in range(500):
        twin.apply(sample(f"web-{k:03d}"), at(0))
    diff = twin.take_diff(2, at(0))

    assert spreads == 1
    assert diff is not None
    positions = {(h.position.x, h.position.y, h.position.z) for h in diff.hosts if h.position}
    assert len(positions) == 500

    # Within a second of that spread the next diff shows a newcomer at its own slot; the
    # first diff a second later spreads again.
    twin.apply(sample("web-late", 1), at(0.5))
    late = twin.take_diff(3, at(0.5))
    assert spreads == 1
    assert late is not None
    assert [h.host_id for h in late.hosts] == ["web-late"]
    twin.take_diff(4, at(1.0))
    assert spreads == 2


def test_a_placement_out_of_range_is_refused() -> None:
    """Layers are 1-7."""
    with pytest.raises(ValueError, match="layer must be 1-7"):
        TwinState("lab").set_placement("web-01", 8, Position())


def test_links_go_to_the_uplink_tag_then_the_rack_switch_then_the_hub() -> None:
    """Uplink tag (if known) wins, then the rack's switch, then the virtual hub."""
    twin = TwinState("lab")
    twin.apply(sample("core-1"), at(0))
    twin.apply(sample("tor-a", rack="a", tags={"role": "tor switch"}), at(0))
    twin.apply(sample("web-01", rack="a"), at(0))
    twin.apply(sample("web-02", rack="a", tags={"uplink": "core-1"}), at(0))
    twin.apply(sample("web-03", rack="a", tags={"uplink": "nowhere"}), at(0))
    twin.apply(sample("web-04", rack="b"), at(0))

    targets = {link.source: link.target for link in twin.frame(1, at(0)).links}

    assert targets == {
        "core-1": HUB_ID,
        "tor-a": HUB_ID,  # a switch does not link to its own rack's switch
        "web-01": "tor-a",
        "web-02": "core-1",
        "web-03": "tor-a",  # unknown uplink: fall back to the rack switch
        "web-04": HUB_ID,  # rack without a switch
    }
    assert {link.id for link in twin.frame(2, at(0)).links} >= {"web-01->tor-a"}


def test_a_link_moves_when_its_uplink_appears() -> None:
    """When the tagged uplink shows up, the hub link is removed and the new one added."""
    twin = TwinState("lab")
    twin.apply(sample("web-01", tags={"uplink": "core-1"}), at(0))
    twin.frame(1, at(0))

    twin.apply(sample("core-1"), at(1))
    diff = twin.take_diff(2, at(1))

    assert diff is not None
    assert diff.removed_links == ["web-01->hub"]
    assert sorted(link.id for link in diff.links) == ["core-1->hub", "web-01->core-1"]


def test_a_removed_host_is_listed_in_the_diff() -> None:
    """Removing a host sends its id, its link's id and a host_removed event."""
    twin = TwinState("lab")
    twin.apply(sample(), at(0))
    twin.take_diff(1, at(0))

    twin.remove_host("web-01", at(2))
    diff = twin.take_diff(2, at(2))

    assert diff is not None
    assert (diff.removed_hosts, diff.removed_links) == (["web-01"], ["web-01->hub"])
    assert [e.kind for e in diff.events] == ["host_removed"]
    assert twin.host_ids() == []


def test_frame_and_diff_round_trip_through_the_codec() -> None:
    """Encoded frames and diffs decode, validated, to equal messages."""
    twin = TwinState("lab")
    twin.apply(sample(tags={"role": "web"}, disks=[Disk(device="d", mountpoint="/")]), at(0))
    frame = twin.frame(1, at(0))
    twin.apply(sample(seconds=5, sent=1000, recv=2000), at(5))
    twin.sweep(at(100))
    diff = twin.take_diff(2, at(100))

    assert diff is not None
    assert diff.events
    assert decode_twin_message(encode(frame)) == frame
    decoded = decode_twin_message(encode(diff))
    assert isinstance(decoded, TwinDiff)
    assert decoded == diff
    assert msgspec.json.decode(encode(frame))["type"] == "frame"
