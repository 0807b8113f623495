"""After a restart: alerts stored since the snapshot are adopted, never fired or notified twice."""

from datetime import timedelta

import msgspec
from alerts_samples import at, cpu_rule, sample

from mirror_alerts.evaluation.alert_state import (
    AlertChange,
    EvaluatorSnapshot,
    OpenAlert,
    as_alert_event,
)
from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.notify.grouping import Grouper

REPEAT = timedelta(hours=4)


def _roundtrip(snapshot: EvaluatorSnapshot) -> EvaluatorSnapshot:
    """As the service would: to JSON (PostgreSQL jsonb) and back."""
    return msgspec.json.decode(msgspec.json.encode(snapshot), type=EvaluatorSnapshot)


def _stored(change: AlertChange, started_seconds: float, **fields: object) -> OpenAlert:
    """The open alert of a fire, as read back from the store."""
    values: dict[str, object] = {
        "alert_id": change.alert_id,
        "rule_id": change.rule_id,
        "host_id": change.host_id,
        "resource": change.resource,
        "metric": change.metric,
        "severity": change.severity,
        "started_at": at(started_seconds),
        "fired_at": change.at,
        "value": change.value,
        "threshold": change.threshold,
    }
    values.update(fields)
    return msgspec.convert(values, OpenAlert)


def _fired_after_the_snapshot() -> tuple[EvaluatorSnapshot, AlertChange]:
    """A snapshot taken mid-`for` (pending since 0 s), and the fire at 30 s that followed it
    (stored, but not in the snapshot)."""
    before = Evaluator([cpu_rule()])
    for seconds in (0, 10, 20):
        assert before.observe(sample(seconds, cpu_load=95.0), at(seconds)) == []
    snapshot = _roundtrip(before.snapshot())
    (fired,) = before.observe(sample(30, cpu_load=95.0), at(30))
    assert fired.kind == "fired"
    return snapshot, fired


def test_an_alert_stored_after_the_snapshot_is_not_fired_again() -> None:
    """Restored mid-`for`, then adopted: samples still over the threshold fire nothing."""
    snapshot, fired = _fired_after_the_snapshot()
    after = Evaluator([cpu_rule()])
    assert after.restore(snapshot, at(40)) == []
    assert after.adopt([_stored(fired, 0)]) == 1
    assert [a.alert_id for a in after.open_alerts()] == [fired.alert_id]
    changes = [
        c for s in (30, 40, 50, 60, 90) for c in after.observe(sample(s, cpu_load=95.0), at(s))
    ]
    assert changes == []


def test_adopting_drops_the_pending_timer_of_its_key() -> None:
    """The restored timer of the adopted alert's key is gone from the next snapshot."""
    snapshot, fired = _fired_after_the_snapshot()
    after = Evaluator([cpu_rule()])
    after.restore(snapshot, at(40))
    assert [t.rule_id for t in after.snapshot().pending] == ["cpu-high"]
    after.adopt([_stored(fired, 0)])
    assert after.snapshot().pending == []


def test_without_adopting_the_restored_timer_fires_a_second_time() -> None:
    """The case adopt exists for: the timer restored from the snapshot fires again."""
    snapshot, _fired = _fired_after_the_snapshot()
    after = Evaluator([cpu_rule()])
    after.restore(snapshot, at(40))
    assert [c.kind for c in after.observe(sample(40, cpu_load=95.0), at(40))] == ["fired"]


def test_an_adopted_alert_resolves_as_usual() -> None:
    """The adopted alert is the one that resolves, with its duration from the stored fire."""
    snapshot, fired = _fired_after_the_snapshot()
    after = Evaluator([cpu_rule()])
    after.restore(snapshot, at(40))
    after.adopt([_stored(fired, 0)])
    (resolved,) = after.observe(sample(50, cpu_load=10.0), at(50))
    assert (resolved.kind, resolved.alert_id, resolved.duration_seconds) == (
        "resolved",
        fired.alert_id,
        20.0,
    )


def test_an_acknowledgement_from_the_store_is_taken() -> None:
    """An alert in the snapshot, acknowledged after it was saved: the stored ack wins."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = before.observe(sample(0, cpu_load=95.0), at(0))
    after = Evaluator([cpu_rule(for_seconds=0)])
    after.restore(_roundtrip(before.snapshot()), at(10))
    stored = _stored(fired, 0, acknowledged_by="ana", acknowledged_at=at(5))
    assert after.adopt([stored]) == 0
    (alert,) = after.open_alerts()
    assert (alert.alert_id, alert.acknowledged_by, alert.acknowledged_at) == (
        fired.alert_id,
        "ana",
        at(5),
    )
    assert after.acknowledge(fired.alert_id, "bob", at(11)) is None  # already acknowledged
    (resolved,) = after.observe(sample(20, cpu_load=10.0), at(20))
    assert resolved.acknowledged_by == "ana"


def test_an_adopted_alert_acknowledged_in_the_store_stays_acknowledged() -> None:
    """An alert fired and acknowledged after the snapshot arrives with its acknowledgement."""
    snapshot, fired = _fired_after_the_snapshot()
    after = Evaluator([cpu_rule()])
    after.restore(snapshot, at(40))
    after.adopt([_stored(fired, 0, acknowledged_by="ana", acknowledged_at=at(35))])
    (alert,) = after.open_alerts()
    assert alert.acknowledged_by == "ana"


def test_an_alert_already_held_is_not_duplicated() -> None:
    """Adopting what the snapshot already holds, twice over, keeps one open alert."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = before.observe(sample(0, cpu_load=95.0), at(0))
    after = Evaluator([cpu_rule(for_seconds=0)])
    after.restore(_roundtrip(before.snapshot()), at(10))
    assert after.adopt([_stored(fired, 0), _stored(fired, 0)]) == 0
    assert [a.alert_id for a in after.open_alerts()] == [fired.alert_id]
    assert after.observe(sample(10, cpu_load=95.0), at(10)) == []


def test_a_second_alert_for_a_held_key_is_not_added() -> None:
    """One open alert per (rule, host, resource): another stored id for the key is ignored."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = before.observe(sample(0, cpu_load=95.0), at(0))
    after = Evaluator([cpu_rule(for_seconds=0)])
    after.restore(_roundtrip(before.snapshot()), at(10))
    other = _stored(fired, 0, alert_id="another-id")
    assert after.adopt([other]) == 0
    assert [a.alert_id for a in after.open_alerts()] == [fired.alert_id]


def test_adopting_into_a_fresh_evaluator_remembers_the_host() -> None:
    """Without a snapshot, the adopted alert's host is known: its tags are empty until a sample."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = before.observe(sample(0, cpu_load=95.0, tags={"tier": "web"}), at(0))
    after = Evaluator([cpu_rule(for_seconds=0)])
    assert after.adopt([_stored(fired, 0)]) == 1
    assert after.tags_of("web-01") == {}
    assert after.observe(sample(5, cpu_load=95.0, tags={"tier": "web"}), at(5)) == []
    assert after.tags_of("web-01") == {"tier": "web"}
    assert after.tags_of("db-01") == {}


# Grouper.adopt: the notifications of an alert open before the restart.


def _grouper() -> Grouper:
    return Grouper(group_wait=timedelta(seconds=15), repeat_interval=REPEAT)


def _firing_event() -> AlertChange:
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = evaluator.observe(sample(0, cpu_load=95.0), at(0))
    return fired


def test_an_adopted_alert_is_not_notified_firing_again() -> None:
    """Taken as already told: no `firing` notification, however long it waits."""
    grouper = _grouper()
    assert grouper.adopt(as_alert_event(_firing_event()), now=at(100)) == "accepted"
    assert grouper.flush(now=at(100)) == []
    assert grouper.flush(now=at(200)) == []
    assert len(grouper) == 1


def test_an_adopted_alert_repeats_after_the_repeat_interval() -> None:
    """The repeat comes repeat_interval after the adoption, then after each repeat."""
    grouper = _grouper()
    grouper.adopt(as_alert_event(_firing_event()), now=at(100), tags={"tier": "web"})
    before_due = at(100) + REPEAT - timedelta(seconds=1)
    assert grouper.flush(now=before_due) == []
    (repeat,) = grouper.flush(now=at(100) + REPEAT)
    assert (repeat.kind, repeat.rule_id, repeat.host_id, repeat.tags) == (
        "repeat",
        "cpu-high",
        "web-01",
        {"tier": "web"},
    )
    assert grouper.flush(now=at(100) + REPEAT + timedelta(seconds=1)) == []


def test_an_adopted_acknowledged_alert_does_not_repeat() -> None:
    """Acknowledged before the restart: it stays quiet until it resolves."""
    grouper = _grouper()
    fired = _firing_event()
    acknowledged = msgspec.structs.replace(
        as_alert_event(fired), state="acknowledged", acknowledged_by="ana"
    )
    grouper.adopt(acknowledged, now=at(100))
    assert grouper.flush(now=at(100) + 2 * REPEAT) == []


def test_an_adopted_alert_is_notified_resolved() -> None:
    """Its resolution is told once, listing it, and the group is then forgotten."""
    grouper = _grouper()
    fired = _firing_event()
    grouper.adopt(as_alert_event(fired), now=at(100))
    resolved = msgspec.structs.replace(
        as_alert_event(fired), state="resolved", timestamp=at(110), duration_seconds=110.0
    )
    assert grouper.observe(resolved, now=at(110)) == "accepted"
    (notification,) = grouper.flush(now=at(111))
    assert notification.kind == "resolved"
    assert [a.alert_id for a in notification.alerts] == [fired.alert_id]
    assert len(grouper) == 0
    assert grouper.flush(now=at(112)) == []


def test_a_new_alert_beside_an_adopted_one_is_notified() -> None:
    """Adoption does not hush the host's next incident on another resource."""
    grouper = _grouper()
    fired = _firing_event()
    grouper.adopt(as_alert_event(fired), now=at(100))
    other = msgspec.structs.replace(
        as_alert_event(fired), alert_id="other", resource="disk:/", timestamp=at(101)
    )
    grouper.observe(other, now=at(101))
    assert grouper.flush(now=at(110)) == []  # still inside group_wait
    (firing,) = grouper.flush(now=at(116))
    assert firing.kind == "firing"
    assert "other" in [a.alert_id for a in firing.alerts]
