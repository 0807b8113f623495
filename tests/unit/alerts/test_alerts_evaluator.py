"""The alert lifecycle on samples: pending, firing once, hysteresis, resolve, ack."""

from collections.abc import Sequence

import pytest
from alerts_samples import at, cpu_rule, eth0, sample

from mirror_alerts.evaluation.alert_state import AlertChange, as_alert_event
from mirror_alerts.evaluation.evaluator import Evaluator, UnknownAlertError
from mirror_alerts.rules import Scope, ThresholdRule
from mirror_schema.samples import Disk


def _feed(evaluator: Evaluator, cpu_by_second: Sequence[tuple[float, float]]) -> list[AlertChange]:
    changes: list[AlertChange] = []
    for seconds, cpu in cpu_by_second:
        changes += evaluator.observe(sample(seconds, cpu_load=cpu), at(seconds))
    return changes


def test_above_threshold_longer_than_for_fires_once() -> None:
    """95% CPU for 30 s fires at 30 s, once, however long it stays high."""
    evaluator = Evaluator([cpu_rule()])
    changes = _feed(evaluator, [(s, 95.0) for s in range(0, 120, 5)])
    assert [(c.kind, c.at, c.value, c.threshold) for c in changes] == [
        ("fired", at(30), 95.0, 90.0)
    ]
    alert = evaluator.open_alerts()[0]
    assert (alert.started_at, alert.fired_at, alert.resource) == (at(0), at(30), "")
    assert changes[0].severity == "critical"


def test_spikes_shorter_than_for_never_fire() -> None:
    """25 s above, one sample below, 25 s above: the timer restarts, nothing fires."""
    evaluator = Evaluator([cpu_rule()])
    high = [(s, 95.0) for s in range(0, 30, 5)]
    again = [(s, 95.0) for s in range(35, 60, 5)]
    assert _feed(evaluator, [*high, (30, 50.0), *again]) == []
    assert evaluator.snapshot().pending[0].started_at == at(35)


def test_flapping_inside_the_hysteresis_band_does_not_refire_or_resolve() -> None:
    """Between clear (80) and threshold (90) the alert stays as it is."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    values = [95.0, 85.0, 91.0, 81.0, 95.0, 80.5]
    changes = _feed(evaluator, [(5 * n, v) for n, v in enumerate(values)])
    assert [c.kind for c in changes] == ["fired"]
    assert len(evaluator.open_alerts()) == 1


def test_clearing_resolves_with_the_duration() -> None:
    """Falling to the clear threshold resolves; the duration runs from the fire."""
    evaluator = Evaluator([cpu_rule()])
    changes = _feed(evaluator, [(s, 95.0) for s in range(0, 65, 5)] + [(65, 80.0)])
    fired, resolved = changes
    assert (resolved.kind, resolved.alert_id, resolved.at) == ("resolved", fired.alert_id, at(65))
    assert (resolved.value, resolved.duration_seconds) == (80.0, 35.0)
    assert evaluator.open_alerts() == []


def test_after_resolving_a_new_incident_is_a_new_alert() -> None:
    """A second crossing after a resolve fires again, with another id."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    changes = _feed(evaluator, [(0, 95.0), (5, 10.0), (10, 95.0)])
    assert [c.kind for c in changes] == ["fired", "resolved", "fired"]
    assert changes[0].alert_id != changes[2].alert_id


def test_acknowledge_keeps_the_alert_open_until_it_resolves() -> None:
    """Ack records who; the alert stays open; the resolve carries the ack."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = _feed(evaluator, [(0, 95.0)])
    ack = evaluator.acknowledge(fired.alert_id, "ana", at(3))
    assert ack is not None
    assert (ack.kind, ack.acknowledged_by, ack.at) == ("acknowledged", "ana", at(3))
    assert evaluator.acknowledge(fired.alert_id, "bob", at(4)) is None
    assert _feed(evaluator, [(5, 95.0)]) == []
    assert evaluator.open_alerts()[0].acknowledged_by == "ana"
    (resolved,) = _feed(evaluator, [(10, 10.0)])
    assert (resolved.kind, resolved.acknowledged_by) == ("resolved", "ana")
    with pytest.raises(UnknownAlertError, match=fired.alert_id):
        evaluator.acknowledge(fired.alert_id, "ana", at(11))


def test_one_open_alert_per_rule_host_and_resource() -> None:
    """Two disks over the threshold: two alerts; more samples add none."""
    rule = ThresholdRule(
        id="disk-full", name="Disk full", metric="disk.used_percent", operator=">=", threshold=90
    )
    evaluator = Evaluator([rule])
    disks = [
        Disk(device="a", mountpoint="/", used_percent=95.0),
        Disk(device="b", mountpoint="/var", used_percent=91.0),
        Disk(device="c", mountpoint="/home", used_percent=20.0),
    ]
    changes: list[AlertChange] = []
    for seconds in (0, 5, 10):
        changes += evaluator.observe(sample(seconds, disks=disks), at(seconds))
    assert sorted(c.resource for c in changes) == ["disk:/", "disk:/var"]
    assert len(evaluator.open_alerts()) == 2


def test_interface_utilization_fires_and_unknown_capacity_never_does() -> None:
    """A saturated 1 Gbit/s link fires; the same traffic with no known speed does not."""
    rule = ThresholdRule(
        id="link", name="Link", metric="interface.utilization", operator=">=", threshold=90
    )
    evaluator = Evaluator([rule])
    full = 625_000_000  # 5 s at 1 Gbit/s
    evaluator.observe(sample(0, interfaces=eth0(0)), at(0))
    (fired,) = evaluator.observe(sample(5, interfaces=eth0(full)), at(5))
    assert (fired.resource, fired.value) == ("if:eth0", 100.0)
    evaluator.observe(sample(0, host="db-01", interfaces=eth0(0, speed_mbps=None)), at(0))
    unknown = sample(5, host="db-01", interfaces=eth0(full, speed_mbps=None))
    assert evaluator.observe(unknown, at(5)) == []


def test_a_redelivered_older_sample_changes_nothing() -> None:
    """A late low sample must not resolve an alert fired on newer data."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    _feed(evaluator, [(10, 95.0)])
    assert evaluator.observe(sample(5, cpu_load=10.0), at(12)) == []
    assert len(evaluator.open_alerts()) == 1


def test_scope_by_host_id_and_tag() -> None:
    """A scoped rule ignores hosts outside it."""
    rule = cpu_rule(for_seconds=0, scope=Scope(host_ids=["web-01", "web-02"], tags={"tier": "web"}))
    evaluator = Evaluator([rule])
    assert evaluator.observe(sample(0, host="web-01", cpu_load=95.0), at(0)) == []  # no tag
    hit = sample(0, host="web-02", cpu_load=95.0, tags={"tier": "web"})
    assert [c.host_id for c in evaluator.observe(hit, at(0))] == ["web-02"]
    other = sample(0, host="db-01", cpu_load=95.0, tags={"tier": "web"})
    assert evaluator.observe(other, at(0)) == []


def test_a_host_leaving_the_scope_resolves_its_alert() -> None:
    """When a host's tags move it out of a rule's scope, its alert closes."""
    evaluator = Evaluator([cpu_rule(for_seconds=0, scope=Scope(tags={"tier": "web"}))])
    evaluator.observe(sample(0, cpu_load=95.0, tags={"tier": "web"}), at(0))
    (closed,) = evaluator.observe(sample(5, cpu_load=95.0, tags={"tier": "db"}), at(5))
    assert (closed.kind, closed.value) == ("resolved", None)
    assert "scope" in closed.message


def test_changes_become_alert_events() -> None:
    """The service publishes each change as a mirror_schema AlertEvent."""
    evaluator = Evaluator([cpu_rule(for_seconds=0)])
    (fired,) = _feed(evaluator, [(0, 95.0)])
    event = as_alert_event(fired)
    assert (event.state, event.host_id, event.rule_id, event.value) == (
        "firing",
        "web-01",
        "cpu-high",
        95.0,
    )
