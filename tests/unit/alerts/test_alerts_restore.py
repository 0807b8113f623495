"""Offline on a fake clock, rule changes, and snapshot -> restore without duplicates."""

import msgspec
from alerts_samples import at, cpu_rule, sample

from mirror_alerts.evaluation.alert_state import EvaluatorSnapshot
from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.rules import OfflineRule, Scope

OFFLINE = OfflineRule(id="offline", name="Host offline", after_intervals=12)


def _roundtrip(snapshot: EvaluatorSnapshot) -> EvaluatorSnapshot:
    """As the service would: to JSON (PostgreSQL jsonb) and back."""
    return msgspec.json.decode(msgspec.json.encode(snapshot), type=EvaluatorSnapshot)


def test_offline_fires_after_n_of_the_hosts_own_intervals() -> None:
    """With a 5 s interval and 12 intervals: 60 s of silence is fine, 60.5 s fires, once."""
    evaluator = Evaluator([OFFLINE])
    evaluator.observe(sample(0), at(0))
    assert evaluator.sweep(at(60)) == []
    (fired,) = evaluator.sweep(at(60.5))
    assert (fired.kind, fired.metric, fired.value, fired.threshold) == (
        "fired",
        "host.offline",
        60.5,
        60.0,
    )
    assert evaluator.sweep(at(120)) == []


def test_offline_uses_the_hosts_own_interval() -> None:
    """A 60 s host is not offline after 5 minutes of silence."""
    evaluator = Evaluator([OFFLINE])
    evaluator.observe(sample(0, interval_seconds=60.0), at(0))
    assert evaluator.sweep(at(300)) == []


def test_a_sample_resolves_offline_with_its_duration() -> None:
    """The host coming back resolves the offline alert."""
    evaluator = Evaluator([OFFLINE])
    evaluator.observe(sample(0), at(0))
    evaluator.sweep(at(61))
    (resolved,) = evaluator.observe(sample(100), at(100))
    assert (resolved.kind, resolved.duration_seconds) == ("resolved", 39.0)


def test_restore_mid_for_keeps_the_timers_start() -> None:
    """Pending since 0 s, restarted at 15 s: it still fires at 30 s, not 45 s."""
    before = Evaluator([cpu_rule()])
    for seconds in (0, 5, 10, 15):
        assert before.observe(sample(seconds, cpu_load=95.0), at(seconds)) == []
    snapshot = _roundtrip(before.snapshot())
    assert [t.started_at for t in snapshot.pending] == [at(0)]
    after = Evaluator([cpu_rule()])
    assert after.restore(snapshot, at(20)) == []
    assert after.observe(sample(25, cpu_load=95.0), at(25)) == []
    (fired,) = after.observe(sample(30, cpu_load=95.0), at(30))
    assert (fired.kind, fired.at) == ("fired", at(30))


def test_restore_mid_firing_never_fires_twice() -> None:
    """An open alert survives the restart: redelivered and new samples add no fire."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = before.observe(sample(0, cpu_load=95.0), at(0))
    before.acknowledge(fired.alert_id, "ana", at(1))
    after = Evaluator([cpu_rule(for_seconds=0)])
    after.restore(_roundtrip(before.snapshot()), at(10))
    assert after.observe(sample(0, cpu_load=95.0), at(10)) == []  # redelivery
    assert after.observe(sample(5, cpu_load=10.0 + 85.0), at(11)) == []
    (resolved,) = after.observe(sample(10, cpu_load=10.0), at(12))
    assert (resolved.alert_id, resolved.acknowledged_by, resolved.duration_seconds) == (
        fired.alert_id,
        "ana",
        10.0,
    )


def test_replay_without_a_snapshot_gives_the_same_alert_id() -> None:
    """A crash before saving: the replayed fire has the same id, so it is deduplicated."""
    samples = [sample(s, cpu_load=95.0) for s in range(0, 35, 5)]
    ids = []
    for _ in range(2):
        evaluator = Evaluator([cpu_rule()])
        changes = [c for s in samples for c in evaluator.observe(s, at(40))]
        ids.append([c.alert_id for c in changes])
    assert ids[0] == ids[1]
    assert len(ids[0]) == 1


def test_restore_remembers_silent_hosts_for_the_offline_rule() -> None:
    """A host that died while the service was down still goes offline after a restart."""
    before = Evaluator([OFFLINE])
    before.observe(sample(0), at(0))
    after = Evaluator([OFFLINE])
    after.restore(_roundtrip(before.snapshot()), at(30))
    assert [c.host_id for c in after.sweep(at(61))] == ["web-01"]


def test_deleting_a_rule_resolves_its_alerts_and_drops_its_timers() -> None:
    """Rules gone: their open alerts close, their pending timers vanish."""
    evaluator = Evaluator([cpu_rule(for_seconds=0), cpu_rule(id="cpu-slow", for_seconds=60)])
    evaluator.observe(sample(0, cpu_load=95.0), at(0))
    (closed,) = evaluator.set_rules([], at(5))
    assert (closed.kind, closed.rule_id) == ("resolved", "cpu-high")
    assert evaluator.snapshot().pending == []


def test_changing_a_threshold_keeps_state_and_rejudges() -> None:
    """A raised clear threshold resolves the open alert on the next reading."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    evaluator.observe(sample(0, cpu_load=95.0), at(0))
    assert (
        evaluator.set_rules([cpu_rule(for_seconds=0, threshold=97, clear_threshold=96)], at(1))
        == []
    )
    (resolved,) = evaluator.observe(sample(5, cpu_load=95.0), at(5))
    assert resolved.kind == "resolved"


def test_changing_the_metric_starts_over() -> None:
    """A rule that now watches another metric closes what it had."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    evaluator.observe(sample(0, cpu_load=95.0), at(0))
    (closed,) = evaluator.set_rules([cpu_rule(metric="memory_used_percent")], at(1))
    assert closed.kind == "resolved"
    assert evaluator.open_alerts() == []


def test_restore_closes_alerts_of_rules_deleted_meanwhile() -> None:
    """A rule deleted while the service was down: its alert resolves at restore."""
    before = Evaluator([cpu_rule(for_seconds=0)])
    before.observe(sample(0, cpu_load=95.0), at(0))
    after = Evaluator([])
    (closed,) = after.restore(_roundtrip(before.snapshot()), at(10))
    assert (closed.kind, closed.duration_seconds) == ("resolved", 10.0)


def test_restore_keeps_tag_scoped_alerts_open() -> None:
    """The snapshot carries each host's tags, so a tag-scoped alert is not closed by a restart."""
    rule = cpu_rule(for_seconds=0, scope=Scope(tags={"tier": "web"}))
    before = Evaluator([rule])
    before.observe(sample(0, cpu_load=95.0, tags={"tier": "web"}), at(0))
    after = Evaluator([rule])
    assert after.restore(_roundtrip(before.snapshot()), at(10)) == []
    assert after.sweep(at(11)) == []
    assert len(after.open_alerts()) == 1


def test_editing_severity_keeps_the_pending_start() -> None:
    """A rule edit that watches the same thing keeps the `for` timer running from its start."""
    evaluator = Evaluator([cpu_rule()])
    evaluator.observe(sample(0, cpu_load=95.0), at(0))
    assert evaluator.set_rules([cpu_rule(severity="warning")], at(10)) == []
    assert evaluator.observe(sample(25, cpu_load=95.0), at(25)) == []
    (fired,) = evaluator.observe(sample(30, cpu_load=95.0), at(30))
    assert (fired.severity, fired.at) == ("warning", at(30))


def test_disabling_a_rule_resolves_its_alerts() -> None:
    """A disabled rule is no longer evaluated: its open alerts close."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    evaluator.observe(sample(0, cpu_load=95.0), at(0))
    (closed,) = evaluator.set_rules([cpu_rule(for_seconds=0, enabled=False)], at(5))
    assert closed.kind == "resolved"
    assert evaluator.observe(sample(5, cpu_load=95.0), at(5)) == []
