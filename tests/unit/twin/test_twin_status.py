"""Host status from silence relative to the host's own interval, with a fake clock."""

from datetime import UTC, datetime, timedelta

import pytest

from mirror_twin.model.status import StatusPolicy, StatusTracker, StatusTransition, status_of

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
POLICY = StatusPolicy()


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("silence", "expected"),
    [(0, "online"), (15, "online"), (15.1, "stale"), (60, "stale"), (60.1, "offline")],
)
def test_status_thresholds_are_multiples_of_the_interval(silence: float, expected: str) -> None:
    """With a 5 s interval: stale after 3 intervals (15 s), offline after 12 (60 s)."""
    assert status_of(T0, 5.0, _at(silence), POLICY) == expected


def test_status_uses_the_hosts_own_interval() -> None:
    """30 s of silence is offline for a 1 s host but online for a 60 s host."""
    assert status_of(T0, 1.0, _at(30), POLICY) == "offline"
    assert status_of(T0, 60.0, _at(30), POLICY) == "online"


def test_status_without_interval_uses_the_default() -> None:
    """An agent that reports no interval gets the policy's default interval."""
    policy = StatusPolicy(default_interval_seconds=10.0)

    assert status_of(T0, None, _at(25), policy) == "online"
    assert status_of(T0, None, _at(31), policy) == "stale"


def test_thresholds_are_configurable() -> None:
    """The multiples of the interval come from the policy."""
    policy = StatusPolicy(stale_after_intervals=1, offline_after_intervals=2)

    assert status_of(T0, 5.0, _at(6), policy) == "stale"
    assert status_of(T0, 5.0, _at(11), policy) == "offline"


def test_last_seen_in_the_future_is_online() -> None:
    """Clock skew that puts the last sample after now does not make a host stale."""
    assert status_of(_at(100), 5.0, T0, POLICY) == "online"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stale_after_intervals": 12, "offline_after_intervals": 3},
        {"stale_after_intervals": 0},
        {"default_interval_seconds": 0},
    ],
)
def test_inconsistent_policy_is_rejected(kwargs: dict[str, float]) -> None:
    """A policy whose thresholds cannot work fails when it is built, naming the values."""
    with pytest.raises(ValueError, match="StatusPolicy"):
        StatusPolicy(**kwargs)


def test_first_observation_is_a_transition_from_nothing() -> None:
    """A host seen for the first time reports previous=None, current=online."""
    tracker = StatusTracker()

    assert tracker.observe("web-1", T0, 5.0, T0) == [
        StatusTransition(host_id="web-1", previous=None, current="online", at=T0)
    ]
    assert tracker.status("web-1") == "online"


def test_no_transition_when_nothing_changed() -> None:
    """Samples on time and sweeps within the threshold report nothing."""
    tracker = StatusTracker()
    tracker.observe("web-1", T0, 5.0, T0)

    assert tracker.observe("web-1", _at(5), 5.0, _at(5)) == []
    assert tracker.sweep(_at(10)) == []


def test_silent_host_goes_stale_then_offline_through_sweep_and_back_online() -> None:
    """A host that stops publishing goes stale, then offline, on the timer; a sample revives it."""
    tracker = StatusTracker()
    tracker.observe("web-1", T0, 5.0, T0)

    assert tracker.sweep(_at(15)) == []
    assert tracker.sweep(_at(16)) == [
        StatusTransition(host_id="web-1", previous="online", current="stale", at=_at(16))
    ]
    assert tracker.sweep(_at(30)) == []
    assert tracker.sweep(_at(61)) == [
        StatusTransition(host_id="web-1", previous="stale", current="offline", at=_at(61))
    ]
    assert tracker.sweep(_at(600)) == []
    assert tracker.observe("web-1", _at(700), 5.0, _at(700)) == [
        StatusTransition(host_id="web-1", previous="offline", current="online", at=_at(700))
    ]


def test_late_sweep_goes_straight_to_offline_in_one_transition() -> None:
    """A sweep after a long pause reports online to offline once, not two steps."""
    tracker = StatusTracker()
    tracker.observe("web-1", T0, 5.0, T0)

    assert tracker.sweep(_at(120)) == [
        StatusTransition(host_id="web-1", previous="online", current="offline", at=_at(120))
    ]


def test_sweep_applies_each_hosts_own_interval() -> None:
    """After 20 s of silence a 5 s host is stale while a 60 s host is still online."""
    tracker = StatusTracker()
    tracker.observe("fast", T0, 5.0, T0)
    tracker.observe("slow", T0, 60.0, T0)

    transitions = tracker.sweep(_at(20))

    assert [(t.host_id, t.current) for t in transitions] == [("fast", "stale")]
    assert tracker.statuses() == {"fast": "stale", "slow": "online"}


def test_late_observation_does_not_roll_last_seen_back() -> None:
    """A redelivered old arrival cannot make a host look staler than it is."""
    tracker = StatusTracker()
    tracker.observe("web-1", _at(100), 5.0, _at(100))

    assert tracker.observe("web-1", T0, 5.0, _at(101)) == []
    assert tracker.sweep(_at(110)) == []


def test_sweep_reports_hosts_in_id_order() -> None:
    """Transitions from one sweep come sorted by host id, whatever the arrival order."""
    tracker = StatusTracker()
    for host_id in ("c", "a", "b"):
        tracker.observe(host_id, T0, 5.0, T0)

    assert [t.host_id for t in tracker.sweep(_at(16))] == ["a", "b", "c"]


def test_forget_drops_a_host() -> None:
    """A forgotten host is no longer reported."""
    tracker = StatusTracker()
    tracker.observe("web-1", T0, 5.0, T0)
    tracker.forget("web-1")

    assert tracker.status("web-1") is None
    assert tracker.sweep(_at(100)) == []
