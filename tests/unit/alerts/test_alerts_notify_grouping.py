"""Grouping: one incident is one notification, repeats while firing, one resolved message."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mirror_alerts.notify.grouping import Grouper
from mirror_alerts.notify.model import Notification
from mirror_schema.alerts import AlertEvent, AlertState

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
WAIT = timedelta(seconds=15)
REPEAT = timedelta(hours=4)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(
    resource: str,
    state: AlertState = "firing",
    *,
    when: float = 0,
    host: str = "web-01",
    rule: str = "disk-full",
    alert_id: str | None = None,
    acknowledged_by: str | None = None,
) -> AlertEvent:
    return msgspec.convert(
        {
            "alert_id": alert_id or f"{rule}/{host}/{resource}",
            "rule_id": rule,
            "host_id": host,
            "severity": "critical",
            "state": state,
            "message": "disk above 90%",
            "timestamp": at(when).isoformat(),
            "resource": resource,
            "acknowledged_by": acknowledged_by,
        },
        AlertEvent,
    )


def grouper(**kwargs: object) -> Grouper:
    return Grouper(group_wait=WAIT, repeat_interval=REPEAT, **kwargs)  # type: ignore[arg-type]


def fire_storm(g: Grouper, n: int = 50, *, host: str = "web-01") -> None:
    for i in range(n):
        # Spread over 10 s: inside the 15 s group window.
        assert g.observe(event(f"disk:/d{i}", when=i / 5, host=host), now=at(i / 5)) == "accepted"


def flush_span(g: Grouper, start: float, end: float, **kwargs: object) -> list[Notification]:
    """Flush once a second from `start` to `end`, as the service's timer does."""
    out: list[Notification] = []
    for second in range(int(start), int(end) + 1):
        out += g.flush(now=at(second), **kwargs)  # type: ignore[arg-type]
    return out


def test_a_storm_on_one_host_is_one_notification() -> None:
    """50 resources of one host firing within the window make exactly one notification."""
    g = grouper()
    fire_storm(g)
    sent = flush_span(g, 0, 60)
    assert len(sent) == 1
    (n,) = sent
    assert (n.kind, n.rule_id, n.host_id) == ("firing", "disk-full", "web-01")
    assert len(n.alerts) == 50
    assert n.timestamp == at(15)  # group_wait after the first alert, not after the last


def test_nothing_is_sent_before_the_group_window_ends() -> None:
    """The first alert waits group_wait for its companions."""
    g = grouper()
    g.observe(event("disk:/"), now=at(0))
    assert g.flush(now=at(14.9)) == []
    assert [n.kind for n in g.flush(now=at(15))] == ["firing"]


def test_groups_are_per_rule_and_host() -> None:
    """Two hosts, or two rules on one host, are separate incidents."""
    g = grouper()
    g.observe(event("disk:/", host="web-01"), now=at(0))
    g.observe(event("disk:/", host="web-02"), now=at(0))
    g.observe(event("", rule="cpu-high"), now=at(0))
    sent = g.flush(now=at(15))
    assert sorted((n.rule_id, n.host_id) for n in sent) == [
        ("cpu-high", "web-01"),
        ("disk-full", "web-01"),
        ("disk-full", "web-02"),
    ]


def test_still_firing_repeats_after_the_interval_only() -> None:
    """A group still firing is notified again every repeat interval, not before."""
    g = grouper()
    fire_storm(g, 3)
    assert len(g.flush(now=at(15))) == 1
    assert g.flush(now=at(15) + REPEAT - timedelta(seconds=1)) == []
    (repeat,) = g.flush(now=at(15) + REPEAT)
    assert repeat.kind == "repeat"
    assert len(repeat.alerts) == 3
    assert g.flush(now=at(16) + REPEAT) == []
    assert [n.kind for n in g.flush(now=at(15) + 2 * REPEAT)] == ["repeat"]


def test_a_new_resource_in_a_notified_group_is_told_after_the_window() -> None:
    """A resource joining an incident already notified makes one more firing notification."""
    g = grouper()
    g.observe(event("disk:/"), now=at(0))
    assert len(g.flush(now=at(15))) == 1
    g.observe(event("disk:/var", when=100), now=at(100))
    g.observe(event("disk:/home", when=105), now=at(105))
    assert g.flush(now=at(114)) == []
    (n,) = g.flush(now=at(115))
    assert n.kind == "firing"
    assert [a.resource for a in n.alerts] == ["disk:/", "disk:/home", "disk:/var"]


def test_resolved_message_when_the_whole_group_resolves() -> None:
    """One resolved message once every alert has cleared; then the group is forgotten."""
    g = grouper()
    fire_storm(g, 5)
    g.flush(now=at(15))
    for i in range(4):
        g.observe(event(f"disk:/d{i}", "resolved", when=100), now=at(100))
        assert g.flush(now=at(100)) == []  # one still firing
    g.observe(event("disk:/d4", "resolved", when=101), now=at(101))
    (n,) = g.flush(now=at(101))
    assert n.kind == "resolved"
    assert n.status == "resolved"
    assert {a.state for a in n.alerts} == {"resolved"}
    assert len(n.alerts) == 5
    assert len(g) == 0
    assert g.flush(now=at(101) + REPEAT) == []


def test_resolved_inside_the_window_says_nothing() -> None:
    """An incident that cleared before anyone was told about it sends neither message."""
    g = grouper()
    g.observe(event("disk:/"), now=at(0))
    g.observe(event("disk:/", "resolved", when=5), now=at(5))
    assert flush_span(g, 0, 30) == []
    assert len(g) == 0


def test_acknowledged_alerts_stop_repeating() -> None:
    """Once every alert of a group is acknowledged, no repeat comes; resolution still does."""
    g = grouper()
    fire_storm(g, 2)
    g.flush(now=at(15))
    for i in range(2):
        g.observe(event(f"disk:/d{i}", "acknowledged", when=60, acknowledged_by="ana"), now=at(60))
    assert g.flush(now=at(15) + 3 * REPEAT) == []
    for i in range(2):
        g.observe(event(f"disk:/d{i}", "resolved", when=20_000), now=at(20_000))
    assert [n.kind for n in g.flush(now=at(20_000))] == ["resolved"]


def test_a_group_partly_acknowledged_repeats_listing_both() -> None:
    """While one alert is unacknowledged, the repeat goes on and shows who acked the other."""
    g = grouper()
    fire_storm(g, 2)
    g.flush(now=at(15))
    g.observe(event("disk:/d0", "acknowledged", when=60, acknowledged_by="ana"), now=at(60))
    (n,) = g.flush(now=at(15) + REPEAT)
    assert [(a.resource, a.state) for a in n.alerts] == [
        ("disk:/d0", "acknowledged"),
        ("disk:/d1", "firing"),
    ]


def test_silenced_alerts_produce_no_notification() -> None:
    """A silenced incident sends nothing: no firing, no repeat, no resolved message."""
    g = grouper()
    fire_storm(g)
    silenced = flush_span(g, 0, 60, silenced=lambda e: e.host_id == "web-01")
    assert silenced == []
    assert g.flush(now=at(60) + REPEAT, silenced=lambda e: True) == []
    for i in range(50):
        g.observe(event(f"disk:/d{i}", "resolved", when=20_000), now=at(20_000))
    assert g.flush(now=at(20_000), silenced=lambda e: True) == []
    assert len(g) == 0


def test_a_silence_leaves_other_hosts_alone() -> None:
    """Only the alerts the predicate matches are held back."""
    g = grouper()
    fire_storm(g, 3, host="web-01")
    fire_storm(g, 3, host="web-02")
    sent = flush_span(g, 0, 30, silenced=lambda e: e.host_id == "web-01")
    assert [(n.host_id, len(n.alerts)) for n in sent] == [("web-02", 3)]


def test_an_alert_still_firing_when_its_silence_ends_is_notified() -> None:
    """The end of a silence over a firing alert makes its firing notification."""
    g = grouper()
    g.observe(event("disk:/"), now=at(0))
    assert flush_span(g, 0, 100, silenced=lambda e: True) == []
    (n,) = g.flush(now=at(101))
    assert n.kind == "firing"


def test_a_late_redelivery_does_not_roll_an_alert_back() -> None:
    """An older event for a resource than the one held is ignored."""
    g = grouper()
    g.observe(event("disk:/", "acknowledged", when=10, acknowledged_by="ana"), now=at(10))
    assert g.observe(event("disk:/", "firing", when=0), now=at(11)) == "stale"
    (n,) = g.flush(now=at(25))
    assert n.alerts[0].state == "acknowledged"


def test_states_of_one_alert_order_by_lifecycle_not_by_clock() -> None:
    """Fires and resolves carry the host's clock, acks the API's: an ack stamped before the
    fire (a host clock ahead) still counts, and a resolve stamped before the ack (a host clock
    behind) still resolves; a repeated fire after the ack is stale."""
    g = grouper()
    g.observe(event("disk:/", "firing", when=600), now=at(0))
    g.flush(now=at(15))
    ack = event("disk:/", "acknowledged", when=10, acknowledged_by="ana")
    assert g.observe(ack, now=at(20)) == "accepted"
    assert g.observe(event("disk:/", "firing", when=700), now=at(21)) == "stale"
    assert g.flush(now=at(15) + 2 * REPEAT) == []  # acknowledged: no repeat
    assert g.observe(event("disk:/", "resolved", when=5), now=at(30)) == "accepted"
    assert [n.kind for n in g.flush(now=at(31) + 2 * REPEAT)] == ["resolved"]
    assert len(g) == 0


def test_past_max_groups_new_incidents_are_refused_and_open_ones_kept() -> None:
    """At the cap, an event opening a new group returns 'overflow'; existing groups go on."""
    g = grouper(max_groups=2)
    assert g.observe(event("disk:/", host="a"), now=at(0)) == "accepted"
    assert g.observe(event("disk:/", host="b"), now=at(0)) == "accepted"
    assert g.observe(event("disk:/", host="c"), now=at(0)) == "overflow"
    assert g.observe(event("disk:/var", host="a"), now=at(1)) == "accepted"
    assert sorted(n.host_id for n in g.flush(now=at(15))) == ["a", "b"]
    assert len(g) == 2


def test_host_tags_ride_along_for_matchers() -> None:
    """The tags given with the latest event are the notification's."""
    g = grouper()
    g.observe(event("disk:/"), now=at(0), tags={"env": "prod"})
    (n,) = g.flush(now=at(15))
    assert n.tags == {"env": "prod"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"group_wait": timedelta(seconds=-1)}, "group_wait"),
        ({"repeat_interval": timedelta(0)}, "repeat_interval"),
        ({"max_groups": 0}, "max_groups"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    """A nonsensical window, interval or cap fails at start-up, naming it."""
    with pytest.raises(ValueError, match=field):
        Grouper(**kwargs)  # type: ignore[arg-type]
