"""TwinState's diffs as patches, and the checkpoint's side of it: restore and unsaved hosts."""

import msgspec
from twin_samples import MBIT, at, host_of, link_of, sample

from mirror_twin.model.twin_state import TwinState


def test_a_diff_patch_holds_only_the_fields_that_changed() -> None:
    """A known host's patch carries what changed since it was last sent; a new host comes whole,
    and a reading that became unknown is sent as None, not left out."""
    twin = TwinState("lab")
    twin.apply(sample("web-01", cpu_load=10.0, temperatures={"cpu": 50.0}), at(0))
    twin.frame(1, at(0))
    twin.apply(sample("web-01", 5, cpu_load=20.0), at(5))
    twin.apply(sample("web-02", 5, tags={"layer": "3"}), at(5))  # another layer: web-01 stays

    diff = twin.take_diff(2, at(5))

    assert diff is not None
    patches = {patch.host_id: msgspec.to_builtins(patch) for patch in diff.hosts}
    assert patches["web-01"] == {
        "host_id": "web-01",
        "last_seen": "2024-05-01T12:00:05Z",
        "cpu_load": 20.0,
        "net_tx_bits_per_s": 0.0,  # known from the second sample on
        "net_rx_bits_per_s": 0.0,
        "temperature_max_celsius": None,
    }
    assert patches["web-02"] == msgspec.to_builtins(twin.snapshot(at(5)).hosts[1])


def test_a_patch_applied_to_the_frame_gives_the_next_frame() -> None:
    """Frame, then the diff's patches merged into it field by field: the same as a new frame."""
    twin = TwinState("lab")
    for host in ("a", "b", "c"):
        twin.apply(sample(host, sent=0, recv=0), at(0))
    frame = msgspec.to_builtins(twin.frame(1, at(0)))
    twin.apply(sample("a", 5, sent=10 * MBIT, recv=MBIT, cpu_load=70.0), at(5))
    twin.apply(sample("c", 5, sent=MBIT, recv=0, speed_mbps=None), at(5))
    twin.sweep(at(5))

    diff = msgspec.to_builtins(twin.take_diff(2, at(5)))

    hosts = {host["host_id"]: host for host in frame["hosts"]}
    links = {link["id"]: link for link in frame["links"]}
    for patch in diff["hosts"]:
        hosts.setdefault(patch["host_id"], {}).update(patch)
    for patch in diff["links"]:
        links.setdefault(patch["id"], {}).update(patch)
    expected = msgspec.to_builtins(twin.snapshot(at(5)))
    assert list(hosts.values()) == expected["hosts"]
    assert list(links.values()) == expected["links"]


def test_rates_are_sent_to_four_significant_digits() -> None:
    """Throughput and utilization carry no spurious precision, so a steady link stays quiet."""
    twin = TwinState("lab")
    twin.apply(sample("a", sent=0, recv=0), at(0))
    twin.apply(sample("a", 3, sent=123_456_789, recv=0), at(3))

    frame = twin.frame(1, at(3))

    tx = 123_456_789 * 8 / 3
    assert host_of(frame, "a").net_tx_bits_per_s == float(f"{tx:.4g}")
    assert link_of(frame, "a").throughput_bits_per_s == float(f"{tx:.4g}")
    assert link_of(frame, "a").utilization == float(f"{tx / (1000 * MBIT):.4g}")


def test_booted_at_stays_put_while_uptime_wobbles_and_moves_on_a_reboot() -> None:
    """Boot time is the sample's timestamp minus its uptime, to the second; read-out jitter of
    under two seconds does not move it, a reboot does."""
    twin = TwinState("lab")
    twin.apply(sample("a", 0, uptime_seconds=1000.2), at(0))
    first = host_of(twin.frame(1, at(0)), "a").booted_at
    twin.apply(sample("a", 5, uptime_seconds=1004.1), at(5))
    assert host_of(twin.frame(2, at(5)), "a").booted_at == first == at(-1001)
    twin.apply(sample("a", 10, uptime_seconds=3.0), at(10))
    assert host_of(twin.frame(3, at(10)), "a").booted_at == at(7)


def test_restore_brings_hosts_back_without_events() -> None:
    """A checkpointed host is known again at once, with its rates, and is not announced."""
    before = TwinState("lab")
    before.apply(sample("a", 0, sent=0, recv=0), at(0))
    before.apply(sample("a", 5, sent=5 * MBIT, recv=0), at(5))
    before.apply(sample("b", 5), at(5))
    after = TwinState("lab")

    for host_id in before.host_ids():
        held = before.held(host_id)
        assert held is not None
        after.restore(*held, at(6))

    assert after.snapshot(at(6)).hosts == before.snapshot(at(6)).hosts
    assert host_of(after.snapshot(at(6)), "a").net_tx_bits_per_s == 8 * MBIT
    diff = after.take_diff(1, at(6))
    assert diff is not None
    assert diff.events == []
    after.apply(sample("a", 1), at(7))  # older than what was restored: ignored
    assert host_of(after.snapshot(at(7)), "a").last_seen == at(5)


def test_a_restored_host_silent_since_is_offline() -> None:
    """Status after a restore is what the last sample makes it now, not what it was."""
    twin = TwinState("lab")
    twin.restore(sample("a", 0), None, at(3600))
    assert host_of(twin.snapshot(at(3600)), "a").status == "offline"


def test_take_unsaved_gives_each_change_once() -> None:
    """What the checkpoint must write: hosts changed or removed since the last call."""
    twin = TwinState("lab")
    twin.apply(sample("a", 0), at(0))
    twin.apply(sample("b", 0), at(0))
    assert twin.take_unsaved() == ["a", "b"]
    assert twin.take_unsaved() == []

    twin.apply(sample("a", 5), at(5))
    twin.remove_host("b", at(5))

    assert twin.take_unsaved() == ["a", "b"]
    held = twin.held("a")
    assert held is not None
    assert (held[0].timestamp, held[1] and held[1].timestamp) == (at(5), at(0))
    assert twin.held("b") is None  # removed: the checkpoint deletes it
    twin.keep_unsaved(["a"])
    assert twin.take_unsaved() == ["a"]
