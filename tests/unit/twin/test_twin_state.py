"""TwinState folds samples into host views, links, frames and diffs, with a fake clock."""

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from mirror_schema.codec import decode_twin_message, encode
from mirror_schema.metrics import Disk, Gpu, Interface, MetricSample, Position
from mirror_schema.twin import HostView, LinkView, TwinDiff, TwinFrame
from mirror_twin.layout import position_on_layer
from mirror_twin.links import HUB_ID
from mirror_twin.state import TwinState

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MBIT = 1_000_000


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _sample(
    host: str = "web-01",
    seconds: float = 0,
    *,
    sent: int = 0,
    recv: int = 0,
    speed_mbps: float | None = 1000.0,
    **fields: Any,
) -> MetricSample:
    values: dict[str, Any] = {
        "hostname": host,
        "host_id": host,
        "timestamp": _at(seconds),
        "cpu_load": 40.0,
        "interval_seconds": 5.0,
        "boot_id": "boot-1",
        "interfaces": [
            Interface(name="lo", bytes_sent=10**9, bytes_recv=10**9),
            Interface(name="eth0", bytes_sent=sent, bytes_recv=recv, speed_mbps=speed_mbps),
        ],
    }
    values.update(fields)
    return MetricSample(**values)


def _host(frame: TwinFrame, host_id: str) -> HostView:
    return next(host for host in frame.hosts if host.host_id == host_id)


def _link(frame: TwinFrame, source: str) -> LinkView:
    return next(link for link in frame.links if link.source == source)


def test_a_sample_puts_the_host_in_the_frame_with_derived_figures() -> None:
    """Readings come from the sample, summaries from derive(); rates stay unknown at first."""
    twin = TwinState("lab")
    twin.apply(
        _sample(
            memory_used_percent=61.5,
            disks=[
                Disk(device="sda1", mountpoint="/", used_percent=30.0),
                Disk(device="sdb1", mountpoint="/data", used_percent=92.0),
            ],
            temperatures={"cpu": 71.0, "nvme": 48.0},
            gpus=[Gpu(index=0, utilization_percent=20.0), Gpu(index=1, utilization_percent=60.0)],
            tags={"role": "web"},
        ),
        _at(1),
    )

    frame = twin.frame(1, _at(1))

    host = _host(frame, "web-01")
    assert (frame.twin_id, frame.seq, frame.generated_at) == ("lab", 1, _at(1))
    assert host.status == "online"
    assert host.last_seen == _at(0)
    assert (host.cpu_load, host.memory_used_percent) == (40.0, 61.5)
    assert host.disk_used_percent == 92.0
    assert host.temperature_max_celsius == 71.0
    assert (host.gpu_count, host.gpu_utilization_percent) == (2, 40.0)
    assert host.layer == 7
    assert host.net_tx_bps is None
    assert host.net_rx_bps is None
    assert host.swap_used_percent is None  # not in the sample: unknown, not zero


def test_a_second_sample_gives_rates_and_link_throughput() -> None:
    """Counter deltas over the samples' own timestamps give bit/s; utilization uses capacity."""
    twin = TwinState("lab")
    twin.apply(_sample(seconds=0, sent=0, recv=0), _at(0))
    twin.apply(_sample(seconds=10, sent=12_500_000, recv=25_000_000), _at(10))

    frame = twin.frame(1, _at(10))

    host = _host(frame, "web-01")
    assert host.net_tx_bps == 10 * MBIT
    assert host.net_rx_bps == 20 * MBIT  # loopback left out
    link = _link(frame, "web-01")
    assert link.interface == "eth0"
    assert link.throughput_bps == 20 * MBIT  # the busier direction
    assert link.capacity_bps == 1000 * MBIT
    assert link.utilization == pytest.approx(0.02)


def test_link_figures_stay_unknown_without_a_speed() -> None:
    """An interface with no known speed has a throughput but no capacity or utilization."""
    twin = TwinState("lab")
    twin.apply(_sample(seconds=0, speed_mbps=None), _at(0))
    twin.apply(_sample(seconds=10, sent=10, recv=10, speed_mbps=None), _at(10))

    link = _link(twin.frame(1, _at(10)), "web-01")

    assert link.throughput_bps == 8.0
    assert link.capacity_bps is None
    assert link.utilization is None


def test_a_late_sample_is_ignored() -> None:
    """A sample older than (or as old as) the held one does not roll the twin back."""
    twin = TwinState("lab")
    twin.apply(_sample(seconds=10, cpu_load=90.0), _at(10))
    twin.take_diff(1, _at(10))

    twin.apply(_sample(seconds=5, cpu_load=10.0), _at(11))
    twin.apply(_sample(seconds=10, cpu_load=20.0), _at(11))

    assert twin.take_diff(2, _at(11)) is None
    host = _host(twin.frame(3, _at(11)), "web-01")
    assert (host.cpu_load, host.last_seen) == (90.0, _at(10))


def test_a_silent_host_goes_stale_then_offline_through_sweep() -> None:
    """Sweeps turn silence into status events, delivered in the next diff with the host."""
    twin = TwinState("lab")
    twin.apply(_sample(), _at(0))
    first = twin.take_diff(1, _at(0))
    assert first is not None
    assert [(e.kind, e.current) for e in first.events] == [("host_added", "online")]

    twin.sweep(_at(15))
    assert twin.take_diff(2, _at(15)) is None  # exactly on the threshold: still online

    twin.sweep(_at(16))
    stale = twin.take_diff(3, _at(16))
    twin.sweep(_at(61))
    offline = twin.take_diff(4, _at(61))

    assert stale is not None
    assert offline is not None
    assert [(e.kind, e.previous, e.current) for e in stale.events] == [
        ("status_changed", "online", "stale")
    ]
    assert [h.status for h in stale.hosts] == ["stale"]
    assert [(e.previous, e.current, e.timestamp) for e in offline.events] == [
        ("stale", "offline", _at(61))
    ]
    assert [h.status for h in offline.hosts] == ["offline"]


def test_take_diff_holds_only_changed_hosts_then_none() -> None:
    """A diff carries the hosts changed since the last frame or diff, then None."""
    twin = TwinState("lab")
    twin.apply(_sample("web-01"), _at(0))
    twin.apply(_sample("web-02"), _at(0))
    assert len(twin.frame(5, _at(0)).hosts) == 2
    added = twin.take_diff(6, _at(0))  # events are not in frames: they wait for a diff
    assert added is not None
    assert (added.hosts, [e.kind for e in added.events]) == ([], ["host_added"] * 2)
    twin.frame(7, _at(0))

    twin.apply(_sample("web-02", seconds=5, sent=100, recv=100), _at(5))
    diff = twin.take_diff(8, _at(5))

    assert diff is not None
    assert (diff.seq, diff.base_seq) == (8, 7)
    assert [h.host_id for h in diff.hosts] == ["web-02"]
    assert [link.id for link in diff.links] == ["web-02->hub"]
    assert diff.events == []
    assert twin.take_diff(9, _at(5)) is None
    assert twin.seq == 8  # a None diff keeps the baseline


def test_seq_must_increase() -> None:
    """A frame or diff with a seq not above the last one is refused."""
    twin = TwinState("lab")
    twin.frame(3, _at(0))
    twin.apply(_sample(), _at(0))

    with pytest.raises(ValueError, match="greater than the last seq 3"):
        twin.take_diff(3, _at(0))
    with pytest.raises(ValueError, match="greater than the last seq 3"):
        twin.frame(2, _at(0))


def test_a_saved_placement_overrides_position_and_layer() -> None:
    """The operator's placement beats the agent's position; its layer beats the tags'."""
    twin = TwinState("lab")
    twin.apply(_sample(position=Position(x=1, y=2, z=3), tags={"role": "db"}), _at(0))
    twin.frame(1, _at(0))

    twin.set_placement("web-01", 2, Position(x=9, y=9, z=9))
    diff = twin.take_diff(2, _at(0))

    assert diff is not None
    assert [(h.layer, h.position) for h in diff.hosts] == [(2, Position(x=9, y=9, z=9))]


def test_without_placement_the_position_is_computed() -> None:
    """A host with no placement and no agent position sits on its layer's spiral."""
    twin = TwinState("lab")
    twin.apply(_sample(tags={"role": "switch"}), _at(0))

    host = _host(twin.frame(1, _at(0)), "web-01")

    assert host.layer == 2
    assert host.position == position_on_layer("web-01", 2)


def test_a_placement_out_of_range_is_refused() -> None:
    """Layers are 1-7."""
    with pytest.raises(ValueError, match="layer must be 1-7"):
        TwinState("lab").set_placement("web-01", 8, Position())


def test_links_go_to_the_uplink_tag_then_the_rack_switch_then_the_hub() -> None:
    """Uplink tag (if known) wins, then the rack's switch, then the virtual hub."""
    twin = TwinState("lab")
    twin.apply(_sample("core-1"), _at(0))
    twin.apply(_sample("tor-a", rack="a", tags={"role": "tor switch"}), _at(0))
    twin.apply(_sample("web-01", rack="a"), _at(0))
    twin.apply(_sample("web-02", rack="a", tags={"uplink": "core-1"}), _at(0))
    twin.apply(_sample("web-03", rack="a", tags={"uplink": "nowhere"}), _at(0))
    twin.apply(_sample("web-04", rack="b"), _at(0))

    targets = {link.source: link.target for link in twin.frame(1, _at(0)).links}

    assert targets == {
        "core-1": HUB_ID,
        "tor-a": HUB_ID,  # a switch does not link to its own rack's switch
        "web-01": "tor-a",
        "web-02": "core-1",
        "web-03": "tor-a",  # unknown uplink: fall back to the rack switch
        "web-04": HUB_ID,  # rack without a switch
    }
    assert {link.id for link in twin.frame(2, _at(0)).links} >= {"web-01->tor-a"}


def test_a_link_moves_when_its_uplink_appears() -> None:
    """When the tagged uplink shows up, the hub link is removed and the new one added."""
    twin = TwinState("lab")
    twin.apply(_sample("web-01", tags={"uplink": "core-1"}), _at(0))
    twin.frame(1, _at(0))

    twin.apply(_sample("core-1"), _at(1))
    diff = twin.take_diff(2, _at(1))

    assert diff is not None
    assert diff.removed_links == ["web-01->hub"]
    assert sorted(link.id for link in diff.links) == ["core-1->hub", "web-01->core-1"]


def test_a_removed_host_is_listed_in_the_diff() -> None:
    """Removing a host sends its id, its link's id and a host_removed event."""
    twin = TwinState("lab")
    twin.apply(_sample(), _at(0))
    twin.take_diff(1, _at(0))

    twin.remove_host("web-01", _at(2))
    diff = twin.take_diff(2, _at(2))

    assert diff is not None
    assert (diff.removed_hosts, diff.removed_links) == (["web-01"], ["web-01->hub"])
    assert [e.kind for e in diff.events] == ["host_removed"]
    assert twin.host_ids() == []


def test_frame_and_diff_round_trip_through_the_codec() -> None:
    """Encoded frames and diffs decode, validated, to equal messages."""
    twin = TwinState("lab")
    twin.apply(_sample(tags={"role": "web"}, disks=[Disk(device="d", mountpoint="/")]), _at(0))
    frame = twin.frame(1, _at(0))
    twin.apply(_sample(seconds=5, sent=1000, recv=2000), _at(5))
    twin.sweep(_at(100))
    diff = twin.take_diff(2, _at(100))

    assert diff is not None
    assert diff.events
    assert decode_twin_message(encode(frame)) == frame
    decoded = decode_twin_message(encode(diff))
    assert isinstance(decoded, TwinDiff)
    assert decoded == diff
    assert msgspec.json.decode(encode(frame))["type"] == "frame"


def test_a_diff_patch_holds_only_the_fields_that_changed() -> None:
    """A known host's patch carries what changed since it was last sent; a new host comes whole,
    and a reading that became unknown is sent as None, not left out."""
    twin = TwinState("lab")
    twin.apply(_sample("web-01", cpu_load=10.0, temperatures={"cpu": 50.0}), _at(0))
    twin.frame(1, _at(0))
    twin.apply(_sample("web-01", 5, cpu_load=20.0), _at(5))
    twin.apply(_sample("web-02", 5), _at(5))

    diff = twin.take_diff(2, _at(5))

    assert diff is not None
    patches = {patch.host_id: msgspec.to_builtins(patch) for patch in diff.hosts}
    assert patches["web-01"] == {
        "host_id": "web-01",
        "last_seen": "2024-05-01T12:00:05Z",
        "cpu_load": 20.0,
        "net_tx_bps": 0.0,  # known from the second sample on
        "net_rx_bps": 0.0,
        "temperature_max_celsius": None,
    }
    assert patches["web-02"] == msgspec.to_builtins(twin.snapshot(_at(5)).hosts[1])


def test_a_patch_applied_to_the_frame_gives_the_next_frame() -> None:
    """Frame, then the diff's patches merged into it field by field: the same as a new frame."""
    twin = TwinState("lab")
    for host in ("a", "b", "c"):
        twin.apply(_sample(host, sent=0, recv=0), _at(0))
    frame = msgspec.to_builtins(twin.frame(1, _at(0)))
    twin.apply(_sample("a", 5, sent=10 * MBIT, recv=MBIT, cpu_load=70.0), _at(5))
    twin.apply(_sample("c", 5, sent=MBIT, recv=0, speed_mbps=None), _at(5))
    twin.sweep(_at(5))

    diff = msgspec.to_builtins(twin.take_diff(2, _at(5)))

    hosts = {host["host_id"]: host for host in frame["hosts"]}
    links = {link["id"]: link for link in frame["links"]}
    for patch in diff["hosts"]:
        hosts.setdefault(patch["host_id"], {}).update(patch)
    for patch in diff["links"]:
        links.setdefault(patch["id"], {}).update(patch)
    expected = msgspec.to_builtins(twin.snapshot(_at(5)))
    assert list(hosts.values()) == expected["hosts"]
    assert list(links.values()) == expected["links"]


def test_rates_are_sent_to_four_significant_digits() -> None:
    """Throughput and utilization carry no spurious precision, so a steady link stays quiet."""
    twin = TwinState("lab")
    twin.apply(_sample("a", sent=0, recv=0), _at(0))
    twin.apply(_sample("a", 3, sent=123_456_789, recv=0), _at(3))

    frame = twin.frame(1, _at(3))

    tx = 123_456_789 * 8 / 3
    assert _host(frame, "a").net_tx_bps == float(f"{tx:.4g}")
    assert _link(frame, "a").throughput_bps == float(f"{tx:.4g}")
    assert _link(frame, "a").utilization == float(f"{tx / (1000 * MBIT):.4g}")


def test_booted_at_stays_put_while_uptime_wobbles_and_moves_on_a_reboot() -> None:
    """Boot time is the sample's timestamp minus its uptime, to the second; read-out jitter of
    under two seconds does not move it, a reboot does."""
    twin = TwinState("lab")
    twin.apply(_sample("a", 0, uptime_seconds=1000.2), _at(0))
    first = _host(twin.frame(1, _at(0)), "a").booted_at
    twin.apply(_sample("a", 5, uptime_seconds=1004.1), _at(5))
    assert _host(twin.frame(2, _at(5)), "a").booted_at == first == _at(-1001)
    twin.apply(_sample("a", 10, uptime_seconds=3.0), _at(10))
    assert _host(twin.frame(3, _at(10)), "a").booted_at == _at(7)


def test_restore_brings_hosts_back_without_events() -> None:
    """A checkpointed host is known again at once, with its rates, and is not announced."""
    before = TwinState("lab")
    before.apply(_sample("a", 0, sent=0, recv=0), _at(0))
    before.apply(_sample("a", 5, sent=5 * MBIT, recv=0), _at(5))
    before.apply(_sample("b", 5), _at(5))
    after = TwinState("lab")

    for latest, previous in before.samples().values():
        after.restore(latest, previous, _at(6))

    assert after.snapshot(_at(6)).hosts == before.snapshot(_at(6)).hosts
    assert _host(after.snapshot(_at(6)), "a").net_tx_bps == 8 * MBIT
    diff = after.take_diff(1, _at(6))
    assert diff is not None
    assert diff.events == []
    after.apply(_sample("a", 1), _at(7))  # older than what was restored: ignored
    assert _host(after.snapshot(_at(7)), "a").last_seen == _at(5)


def test_a_restored_host_silent_since_is_offline() -> None:
    """Status after a restore is what the last sample makes it now, not what it was."""
    twin = TwinState("lab")
    twin.restore(_sample("a", 0), None, _at(3600))
    assert _host(twin.snapshot(_at(3600)), "a").status == "offline"


def test_take_unsaved_gives_each_change_once() -> None:
    """What the checkpoint must write: hosts changed or removed since the last call."""
    twin = TwinState("lab")
    twin.apply(_sample("a", 0), _at(0))
    twin.apply(_sample("b", 0), _at(0))
    assert twin.take_unsaved() == ["a", "b"]
    assert twin.take_unsaved() == []

    twin.apply(_sample("a", 5), _at(5))
    twin.remove_host("b", _at(5))

    assert twin.take_unsaved() == ["a", "b"]
    held = twin.held("a")
    assert held is not None
    assert (held[0].timestamp, held[1] and held[1].timestamp) == (_at(5), _at(0))
    assert twin.held("b") is None  # removed: the checkpoint deletes it
    twin.keep_unsaved(["a"])
    assert twin.take_unsaved() == ["a"]
