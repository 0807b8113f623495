"""The leading replica's AlertsEngine in-process: real NATS, real PostgreSQL, a fake clock.

Samples go onto METRICS as an agent would send them; what comes out is checked where a user
sees it: AlertEvents on ``alerts.events.<host>``, rows through AlertsApi, and the bodies a
real local webhook receiver is sent. The engine's clock is a FakeClock the test advances,
so the offline rule, silences and repeats are exact, and no test waits for wall-clock time.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from alerts_engine_helpers import FAST, OFFLINE_RULE, Rig, StartRig, rig_starter
from alerts_helpers import T0, TIMEOUT, cpu_rule
from webhook_helpers import WebhookServer, counter, running_webhook

from mirror_alerts.notify.receivers import Matchers, Receiver
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    CreateSilenceRequest,
    WriteRuleRequest,
)
from mirror_schema.alert_rules import SilenceMatchers
from mirror_schema.alerts import AlertEvent
from waiting import wait_until


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[WebhookServer]:
    """The local receiver, stopped after the test."""
    async with running_webhook() as server:
        yield server


@pytest_asyncio.fixture
async def start_rig(
    tmp_path: Path, database: str, webhook: WebhookServer, unique: str
) -> AsyncIterator[StartRig]:
    """Start an engine leading on its own nats-server and a fresh database with ``rules``
    only (the default rules deleted); cancelled, and everything closed, after the test."""
    async with rig_starter(tmp_path, database, webhook, unique) as start:
        yield start


@pytest_asyncio.fixture
async def rig(start_rig: StartRig) -> Rig:
    """An engine with one CPU rule (> 90 at once, clears below 80) and the /ok receiver."""
    return await start_rig(rules=[cpu_rule(for_seconds=0.0)])


async def test_the_offline_rule_fires_on_the_fake_clock_and_a_sample_resolves_it(
    start_rig: StartRig,
) -> None:
    """Silence is measured on the engine's clock from each sample's arrival: 2 intervals of
    silence fire nothing, 5 fire one alert (stored too), and the next sample resolves it."""
    rig = await start_rig(rules=[OFFLINE_RULE])
    await rig.sample("early-01", T0)  # arrives at T0
    rig.clock.advance(2)
    await rig.sample("web-01", T0 + timedelta(seconds=2))  # arrives at T0 + 2 s

    # T0 + 4 s: early-01 has been silent 4 intervals (fires), web-01 only 2 (must not).
    rig.clock.advance(2)
    [early] = await rig.events.wait(1, state="firing", host_id="early-01")
    assert early.rule_id == "offline-test"
    assert rig.events.of(host_id="web-01") == []

    rig.clock.advance(3)  # web-01: 5 s of silence, 5 intervals of 1 s
    [fired] = await rig.events.wait(1, state="firing", host_id="web-01")
    assert (fired.rule_id, fired.severity, fired.value, fired.threshold) == (
        "offline-test",
        "critical",
        5.0,
        3.0,
    )
    assert fired.timestamp == rig.clock.now
    active = await rig.api.active(ActiveAlertsRequest(host="web-01"))
    assert [(a.alert_id, a.state, a.metric) for a in active] == [
        (fired.alert_id, "firing", "host.offline")
    ]

    rig.clock.advance(3)
    await rig.sample("web-01", T0 + timedelta(seconds=10))
    [resolved] = await rig.events.wait(1, state="resolved", host_id="web-01")
    assert (resolved.alert_id, resolved.duration_seconds) == (fired.alert_id, 3.0)
    stored = await rig.api.get(fired.alert_id)
    assert (stored.state, stored.resolved_at, stored.duration_seconds) == (
        "resolved",
        rig.clock.now,
        3.0,
    )
    assert [e.kind for e in stored.events] == ["fired", "resolved"]
    assert len(rig.events.of(state="firing", host_id="web-01")) == 1  # not fired again


async def test_the_receiver_gets_one_notification_each_way_per_incident(
    start_rig: StartRig,
) -> None:
    """A CPU alert reaches the webhook as one generic `firing` body, however many samples
    stay above the threshold, and as one `resolved` body when it clears."""
    rig = await start_rig(rules=[cpu_rule()])  # > 90 for 60 s, clears at 80
    for second in (0, 30, 60):  # `for` has elapsed at the third sample
        await rig.sample("web-01", T0 + timedelta(seconds=second), cpu=95)
    [fired] = await rig.events.wait(1, state="firing", host_id="web-01")
    firing = await rig.wait_body(host_id="web-01", kind="firing")
    assert (firing.status, firing.rule_id, firing.severity) == ("firing", "cpu-test", "critical")
    assert [(a.alert_id, a.state, a.value) for a in firing.alerts] == [
        (fired.alert_id, "firing", 95.0)
    ]

    for second in (90, 120):  # still firing: no second notification
        await rig.sample("web-01", T0 + timedelta(seconds=second), cpu=97)
    # Another host's incident, notified by a flush that came after those samples.
    for second in (0, 30, 60):
        await rig.sample("db-01", T0 + timedelta(seconds=second), cpu=99)
    await rig.wait_body(host_id="db-01", kind="firing")
    assert [b.kind for b in rig.bodies(host_id="web-01")] == ["firing"]

    await rig.sample("web-01", T0 + timedelta(seconds=150), cpu=50)
    resolved = await rig.wait_body(host_id="web-01", kind="resolved")
    assert [(a.alert_id, a.state) for a in resolved.alerts] == [(fired.alert_id, "resolved")]
    # The resolved body came after every flush of the incident: nothing else was sent.
    assert [b.kind for b in rig.bodies(host_id="web-01")] == ["firing", "resolved"]
    assert len(rig.events.of(state="firing", host_id="web-01")) == 1


async def test_a_silence_holds_back_notifications_but_not_the_record(rig: Rig) -> None:
    """A silence made through the API reaches the engine (LISTEN): the silenced host's
    alert fires, is published and stored, yet its receiver is told nothing of it."""
    await rig.api.create_silence(
        CreateSilenceRequest(matchers=SilenceMatchers(host_ids=["quiet-01"]), duration_seconds=3600)
    )
    probe = AlertEvent(
        alert_id="probe",
        rule_id="cpu-test",
        host_id="quiet-01",
        severity="critical",
        state="firing",
        message="probe",
        timestamp=T0,
    )
    silenced = rig.engine.notifier.silenced
    assert silenced is not None
    await wait_until(lambda: silenced(probe), timeout=TIMEOUT, what="the silence in the engine")

    await rig.sample("quiet-01", T0, cpu=95)
    [quiet] = await rig.events.wait(1, state="firing", host_id="quiet-01")
    active = await rig.api.active(ActiveAlertsRequest(host="quiet-01"))
    assert [(a.alert_id, a.state) for a in active] == [(quiet.alert_id, "firing")]
    await rig.sample("loud-01", T0, cpu=95)
    await rig.wait_body(host_id="loud-01", kind="firing")  # flushed after quiet-01 fired

    await rig.sample("quiet-01", T0 + timedelta(seconds=30), cpu=50)
    await rig.sample("loud-01", T0 + timedelta(seconds=30), cpu=50)
    await rig.events.wait(1, state="resolved", host_id="quiet-01")
    await rig.wait_body(host_id="loud-01", kind="resolved")
    assert rig.bodies(host_id="quiet-01") == []
    assert (await rig.api.get(quiet.alert_id)).state == "resolved"


async def test_a_failing_receiver_is_retried_and_given_up_while_evaluation_goes_on(
    start_rig: StartRig, webhook: WebhookServer, unique: str
) -> None:
    """A receiver answering 500 gets max_attempts requests and is then given up (counted);
    while its retry is held, other hosts' alerts still fire, publish and notify."""
    failing = Receiver(
        name=f"fail-{unique}",
        url=webhook.url("/stuck"),
        match=Matchers(tags={"route": "flaky"}),
    )
    rig = await start_rig(rules=[cpu_rule(for_seconds=0.0)], receivers=[failing])

    def gave_up() -> float:
        return counter(
            "mirror_alerts_notifications_failed_total", receiver=failing.name, reason="gave_up"
        )

    await rig.sample("flaky-01", T0, cpu=95, tags={"route": "flaky"})
    await wait_until(
        lambda: webhook.count("/stuck") == 2,
        timeout=TIMEOUT,
        what="a 500, then the first retry held by the receiver",
    )
    for host in ("web-01", "web-02"):
        await rig.sample(host, T0, cpu=95)
        await rig.events.wait(1, state="firing", host_id=host)
        await rig.wait_body(host_id=host, kind="firing")
    assert webhook.count("/stuck") == 2  # the failing receiver is still mid-retry
    assert gave_up() == 0

    webhook.release.set()
    await wait_until(lambda: gave_up() == 1, timeout=TIMEOUT, what="the delivery given up")
    assert webhook.count("/stuck") == FAST.max_attempts
    assert {body["host_id"] for body in webhook.bodies("/stuck")} == {"flaky-01"}
    assert rig.bodies(host_id="flaky-01", kind="firing")  # the healthy receiver got it


async def test_an_ack_reaches_the_engine_and_stops_only_its_repeats(
    start_rig: StartRig,
) -> None:
    """AlertsApi.acknowledge is told to the leading engine by NOTIFY: it holds the alert as
    acknowledged, and when the repeat interval passes only the unacknowledged one repeats."""
    rig = await start_rig(rules=[cpu_rule(for_seconds=0.0)], repeat_interval=timedelta(seconds=1))
    for host in ("acked-01", "firing-01"):
        await rig.sample(host, T0, cpu=95)
        await rig.wait_body(host_id=host, kind="firing")
    [fired] = rig.events.of(state="firing", host_id="acked-01")

    record = await rig.api.acknowledge(AckAlertRequest(id=fired.alert_id, by="alice"))
    assert (record.state, record.acknowledged_by) == ("acknowledged", "alice")
    await wait_until(
        lambda: rig.open_alert_of("acked-01").acknowledged_by == "alice",
        timeout=TIMEOUT,
        what="the ack in the engine's evaluator",
    )
    [acked] = await rig.events.wait(1, state="acknowledged", host_id="acked-01")
    assert (acked.alert_id, acked.acknowledged_by) == (fired.alert_id, "alice")
    assert rig.open_alert_of("firing-01").acknowledged_by is None

    rig.clock.advance(2)  # past the repeat interval, on the engine's clock
    await rig.wait_body(host_id="firing-01", kind="repeat")
    assert [b.kind for b in rig.bodies(host_id="acked-01")] == ["firing"]


async def test_a_rule_created_and_deleted_through_the_api_applies_live(
    start_rig: StartRig,
) -> None:
    """A rule created while the engine leads is evaluated from the next sample on; deleting
    it resolves the alert it had open."""
    rig = await start_rig()
    await rig.sample("web-01", T0, cpu=95)  # no rule yet: evaluated, nothing fires

    await rig.api.create_rule(WriteRuleRequest(rule=cpu_rule("cpu-live", for_seconds=0.0)))
    await wait_until(
        lambda: [rule.id for rule in rig.engine.evaluator.rules] == ["cpu-live"],
        timeout=TIMEOUT,
        what="the new rule in the engine",
    )
    assert rig.events.events == []
    await rig.sample("web-01", T0 + timedelta(seconds=30), cpu=96)
    [fired] = await rig.events.wait(1, state="firing", host_id="web-01")
    assert (fired.rule_id, fired.value) == ("cpu-live", 96.0)

    await rig.api.delete_rule("cpu-live")
    [resolved] = await rig.events.wait(1, state="resolved", host_id="web-01")
    assert resolved.alert_id == fired.alert_id
    assert "deleted" in resolved.message
    assert await rig.api.active(ActiveAlertsRequest()) == []
    assert (await rig.api.get(fired.alert_id)).state == "resolved"
