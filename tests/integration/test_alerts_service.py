"""The alerts service end to end: samples on METRICS in, events on ALERTS and REST out."""

from datetime import timedelta

from alerts_helpers import T0, AlertsStack, cpu_rule


async def test_cpu_above_90_for_longer_than_for_fires_once_then_resolves(
    alerts: AlertsStack,
) -> None:
    await alerts.add_rule(cpu_rule())
    # 95 % at 0 s, 30 s, 61 s: `for` (60 s) has elapsed at the third sample, on the samples'
    # own clock; then it stays above 90 for two more samples (no second fire).
    await alerts.cpu_series("web-01", [95, 95, 95, 96, 97], step=30.5)
    fired = await alerts.events.wait(1, state="firing", host_id="web-01")
    ours = [e for e in fired if e.rule_id == "cpu-test"]
    assert len(ours) == 1
    assert ours[0].value == 95
    assert ours[0].threshold == 90
    active = [a for a in await alerts.active("web-01") if a["rule_id"] == "cpu-test"]
    assert [a["alert_id"] for a in active] == [ours[0].alert_id]

    # Inside the hysteresis band (80-90): still firing; below 80: resolved, with its duration.
    last = T0 + timedelta(seconds=4 * 30.5)
    await alerts.sample("web-01", last + timedelta(seconds=30), cpu=85)
    await alerts.sample("web-01", last + timedelta(seconds=60), cpu=70)
    resolved = await alerts.events.wait(1, state="resolved", host_id="web-01")
    assert [e.alert_id for e in resolved if e.rule_id == "cpu-test"] == [ours[0].alert_id]
    assert resolved[0].duration_seconds is not None
    assert resolved[0].duration_seconds > 0
    assert not [a for a in await alerts.active("web-01") if a["rule_id"] == "cpu-test"]
    assert len([e for e in alerts.events.of(state="firing") if e.rule_id == "cpu-test"]) == 1
