"""The alerts service end to end: samples on METRICS in, events on ALERTS and REST out."""

from datetime import timedelta

import httpx
from alerts_helpers import T0, TIMEOUT, AlertsStack, cpu_rule

from mirror_stage.supervisor import Supervised
from waiting import wait_until

RULE = "cpu-test"


async def test_cpu_above_90_for_longer_than_for_fires_once_then_resolves(
    alerts: AlertsStack,
) -> None:
    await alerts.add_rule(cpu_rule())
    # 95 % at 0 s, 30 s, 61 s: `for` (60 s) has elapsed at the third sample, on the samples'
    # own clock; then it stays above 90 for two more samples (no second fire).
    await alerts.cpu_series("web-01", [95, 95, 95, 96, 97], step=30.5)
    ours = await alerts.events.wait(1, state="firing", host_id="web-01", rule_id=RULE)
    assert len(ours) == 1
    assert ours[0].value == 95
    assert ours[0].threshold == 90
    active = [a for a in await alerts.active("web-01") if a["rule_id"] == RULE]
    assert [a["alert_id"] for a in active] == [ours[0].alert_id]

    # Inside the hysteresis band (80-90): still firing; below 80: resolved, with its duration.
    last = T0 + timedelta(seconds=4 * 30.5)
    await alerts.sample("web-01", last + timedelta(seconds=30), cpu=85)
    await alerts.sample("web-01", last + timedelta(seconds=60), cpu=70)
    resolved = await alerts.events.wait(1, state="resolved", host_id="web-01", rule_id=RULE)
    assert [e.alert_id for e in resolved] == [ours[0].alert_id]
    assert resolved[0].duration_seconds is not None
    assert resolved[0].duration_seconds > 0
    assert not [a for a in await alerts.active("web-01") if a["rule_id"] == RULE]
    assert len(alerts.events.of(state="firing", rule_id=RULE)) == 1


async def test_a_restart_mid_for_fires_once_when_for_elapses(alerts: AlertsStack) -> None:
    """Killed while a `for` timer runs, after its snapshot: the timer keeps its start."""
    await alerts.add_rule(cpu_rule())
    await alerts.cpu_series("db-01", [95, 95], step=30)  # pending since T0
    info = await alerts.js.stream_info("METRICS")
    await alerts.snapshot_covers(info.state.last_seq)
    await alerts.kill()
    await alerts.restart()
    # 61 s after the condition began: fires now, not 60 s after the restart.
    await alerts.sample("db-01", T0 + timedelta(seconds=61), cpu=95)
    fired = await alerts.events.wait(1, state="firing", host_id="db-01", rule_id=RULE)
    assert len(fired) == 1
    await alerts.sample("db-01", T0 + timedelta(seconds=90), cpu=96)
    await alerts.sample("db-01", T0 + timedelta(seconds=120), cpu=50)
    resolved = await alerts.events.wait(1, state="resolved", host_id="db-01", rule_id=RULE)
    assert [e.alert_id for e in resolved] == [fired[0].alert_id]
    assert len(alerts.events.of(state="firing", host_id="db-01", rule_id=RULE)) == 1


async def test_a_kill_right_after_firing_never_fires_it_twice(alerts: AlertsStack) -> None:
    """Killed just after the alert fired, before a snapshot holds it: the restarted service
    replays the samples since its snapshot and adopts the stored alert, so no second fire."""
    await alerts.add_rule(cpu_rule())
    await alerts.cpu_series("db-02", [95, 95, 95], step=30.5)
    fired = await alerts.events.wait(1, state="firing", host_id="db-02", rule_id=RULE)
    await alerts.kill()
    await alerts.restart()
    await alerts.sample("db-02", T0 + timedelta(seconds=100), cpu=97)  # still above
    await alerts.sample("db-02", T0 + timedelta(seconds=130), cpu=40)  # clears
    resolved = await alerts.events.wait(1, state="resolved", host_id="db-02", rule_id=RULE)
    assert [e.alert_id for e in resolved] == [fired[0].alert_id]
    assert len(alerts.events.of(state="firing", host_id="db-02", rule_id=RULE)) == 1
    history = (await alerts.http.get("/api/alerts", params={"host": "db-02"})).json()["items"]
    ours = [(a["alert_id"], a["state"]) for a in history if a["rule_id"] == RULE]
    assert ours == [(fired[0].alert_id, "resolved")]


async def test_a_standby_replica_takes_over_when_the_leader_dies(alerts: AlertsStack) -> None:
    """Two replicas: one evaluates, the other answers the API; kill -9 of the leader hands
    evaluation over, and the open alert resolves under the new leader, once."""
    standby = Supervised(alerts.spec("standby"))
    await standby.start()
    alerts.replicas.append(standby)
    standby_http = httpx.AsyncClient(base_url=standby.spec.address, timeout=10)
    try:
        health = (await standby_http.get("/api/health")).json()
        assert health["details"]["role"] == "standby"
        await alerts.add_rule(cpu_rule())
        await alerts.cpu_series("app-01", [95, 95, 95], step=30.5)
        fired = await alerts.events.wait(1, state="firing", host_id="app-01", rule_id=RULE)
        # The standby's API reads the same store.
        active = (await standby_http.get("/api/alerts/active")).json()["items"]
        assert fired[0].alert_id in [a["alert_id"] for a in active]

        await alerts.kill()

        async def standby_leads() -> bool:
            body = (await standby_http.get("/api/health")).json()
            return bool(body["details"]["role"] == "leader")

        await wait_until(standby_leads, timeout=TIMEOUT, what="the standby leading")
        await alerts.sample("app-01", T0 + timedelta(seconds=130), cpu=30)
        resolved = await alerts.events.wait(1, state="resolved", host_id="app-01", rule_id=RULE)
        assert [e.alert_id for e in resolved] == [fired[0].alert_id]
        assert len(alerts.events.of(state="firing", host_id="app-01", rule_id=RULE)) == 1
    finally:
        await standby_http.aclose()


async def test_a_graceful_stop_saves_a_snapshot_covering_every_sample(alerts: AlertsStack) -> None:
    """SIGTERM: what was evaluated is committed and the last snapshot covers it, so a restart
    resumes exactly after the last sample instead of replaying."""
    await alerts.add_rule(cpu_rule())
    await alerts.cpu_series("web-02", [95, 95, 95, 96], step=30.5)
    await alerts.events.wait(1, state="firing", host_id="web-02", rule_id=RULE)
    last = (await alerts.js.stream_info("METRICS")).state.last_seq
    assert await alerts.service.stop() == 0
    assert await alerts.snapshot_position() == last
