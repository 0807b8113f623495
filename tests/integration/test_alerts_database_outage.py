"""The alerts service through a PostgreSQL outage: evaluation, events and notifications go on
while the database is really stopped (every connection closed); once it is back each change
is stored once, in order; a leader killed meanwhile fires nothing twice; a notification that
had not got through when its leader died is delivered after the restart.

Each test has a PostgreSQL of its own (servers.stoppable_postgres) and a webhook receiver.
"""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from alerts_helpers import FAST_ENV, T0, TIMEOUT, AlertsStack, cpu_rule, running_alerts
from webhook_helpers import WebhookServer, running_webhook

from servers import StoppablePostgres, stoppable_postgres
from waiting import wait_until

RULE = "cpu-outage"


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[WebhookServer]:
    async with running_webhook() as server:
        yield server


@pytest_asyncio.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[StoppablePostgres]:
    (tmp_path / "pg").mkdir()
    async with stoppable_postgres(tmp_path / "pg") as server:
        yield server


def _env(tmp_path: Path, webhook: WebhookServer, path: str) -> dict[str, str]:
    receivers = tmp_path / "receivers.json"
    receivers.write_text(json.dumps({"receivers": [{"name": "ops", "url": webhook.url(path)}]}))
    return {**FAST_ENV, "MIRROR_STAGE_ALERTS_RECEIVERS_FILE": str(receivers)}


def _ours(webhook: WebhookServer, path: str, host: str) -> list[tuple[str, list[str]]]:
    """(kind, alert ids) of each notification of RULE about ``host`` the receiver got."""
    return [
        (str(body["kind"]), [str(alert["alert_id"]) for alert in _alerts(body)])
        for body in webhook.bodies(path)
        if body["rule_id"] == RULE and body["host_id"] == host
    ]


def _alerts(body: dict[str, Any]) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = body["alerts"]
    return alerts


async def _stored(alerts: AlertsStack, host: str) -> list[dict[str, Any]]:
    """RULE's alerts of ``host`` as the API reads them from the store, each with its events."""
    answer = await alerts.http.get("/api/alerts", params={"host": host})
    assert answer.status_code == 200, answer.text
    ours = [a for a in answer.json()["items"] if a["rule_id"] == RULE]
    return [(await alerts.http.get(f"/api/alerts/{a['alert_id']}")).json() for a in ours]


async def _notified(webhook: WebhookServer, host: str, kinds: list[str]) -> None:
    """Wait until RULE's notifications about ``host`` at /ok are ``kinds``, in order (an
    alert that resolves before its firing was told is not told at all: the grouper)."""

    async def told() -> bool:
        return [kind for kind, _ in _ours(webhook, "/ok", host)] == kinds

    await wait_until(told, timeout=TIMEOUT, what=f"notifications {kinds} about {host}")


async def _answers_again(alerts: AlertsStack) -> None:
    async def answers() -> bool:
        return (await alerts.http.get("/api/alerts/active")).status_code == 200

    await wait_until(answers, timeout=TIMEOUT, what="the API reading the database again")


async def test_alerts_fire_resolve_and_notify_with_postgres_stopped_and_are_stored_once_after(
    tmp_path: Path, postgres: StoppablePostgres, webhook: WebhookServer
) -> None:
    env = _env(tmp_path, webhook, "/ok")
    async with running_alerts(tmp_path, postgres.server.dsn, env) as alerts:
        await alerts.add_rule(cpu_rule(RULE))
        await postgres.stop()

        # Above 90 for 61 s on the samples' clock, then below the clear threshold: fired and
        # resolved, published and notified, all without a database.
        last = await alerts.cpu_series("hot-01", [95, 95, 95], step=30.5)
        [fired] = await alerts.events.wait(1, state="firing", host_id="hot-01", rule_id=RULE)
        await _notified(webhook, "hot-01", ["firing"])
        await alerts.sample("hot-01", last + timedelta(seconds=30), cpu=50)
        [resolved] = await alerts.events.wait(1, state="resolved", host_id="hot-01", rule_id=RULE)
        assert resolved.alert_id == fired.alert_id
        await _notified(webhook, "hot-01", ["firing", "resolved"])
        health = await alerts.health()
        assert health["details"]["role"] == "leader", health

        await postgres.start()
        await _answers_again(alerts)
        [stored] = await _stored(alerts, "hot-01")
        assert (stored["alert_id"], stored["state"], stored["metric"]) == (
            fired.alert_id,
            "resolved",
            "cpu_load",
        )
        assert [e["kind"] for e in stored["events"]] == ["fired", "resolved"]
        assert stored["duration_seconds"] == resolved.duration_seconds
        assert len(alerts.events.of(host_id="hot-01", rule_id=RULE)) == 2
        assert _ours(webhook, "/ok", "hot-01") == [
            ("firing", [fired.alert_id]),
            ("resolved", [fired.alert_id]),
        ]


async def test_a_leader_killed_during_the_outage_fires_nothing_twice_once_it_is_back(
    tmp_path: Path, postgres: StoppablePostgres, webhook: WebhookServer
) -> None:
    """Fired with the database down, then killed: the restarted service waits for the
    database, stores the fire, replays the samples since its last snapshot (taken before the
    outage) and resolves the same alert; one fire, one resolve, one notification each."""
    env = _env(tmp_path, webhook, "/ok")
    async with running_alerts(tmp_path, postgres.server.dsn, env) as alerts:
        await alerts.add_rule(cpu_rule(RULE))
        await postgres.stop()
        last = await alerts.cpu_series("hot-02", [95, 95, 95], step=30.5)
        [fired] = await alerts.events.wait(1, state="firing", host_id="hot-02", rule_id=RULE)

        await _notified(webhook, "hot-02", ["firing"])
        await alerts.kill()
        await postgres.start()
        await alerts.restart()
        await alerts.sample("hot-02", last + timedelta(seconds=30), cpu=97)  # still above
        await alerts.sample("hot-02", last + timedelta(seconds=60), cpu=40)
        [resolved] = await alerts.events.wait(1, state="resolved", host_id="hot-02", rule_id=RULE)
        assert resolved.alert_id == fired.alert_id
        assert len(alerts.events.of(state="firing", host_id="hot-02", rule_id=RULE)) == 1
        [stored] = await _stored(alerts, "hot-02")
        assert [e["kind"] for e in stored["events"]] == ["fired", "resolved"]
        await _notified(webhook, "hot-02", ["firing", "resolved"])
        assert _ours(webhook, "/ok", "hot-02") == [
            ("firing", [fired.alert_id]),
            ("resolved", [fired.alert_id]),
        ]


async def test_a_fire_not_yet_notified_when_its_leader_died_is_notified_after_the_restart(
    tmp_path: Path, postgres: StoppablePostgres, webhook: WebhookServer
) -> None:
    """At least once: the receiver refused the firing notification until the leader was
    killed; the restarted leader sends it again (the body names the alert's id, by which a
    receiver drops a repeat), and the alert does not fire a second time."""
    env = _env(tmp_path, webhook, "/flaky")
    async with running_alerts(tmp_path, postgres.server.dsn, env) as alerts:
        await alerts.add_rule(cpu_rule(RULE, for_seconds=0.0))
        await alerts.sample("hot-03", datetime.now(UTC), cpu=99)
        [fired] = await alerts.events.wait(1, state="firing", host_id="hot-03", rule_id=RULE)

        async def tried() -> bool:
            return len(_ours(webhook, "/flaky", "hot-03")) >= 1

        await wait_until(tried, timeout=TIMEOUT, what="a refused delivery")
        await alerts.kill()
        refused = len(webhook.bodies("/flaky"))
        webhook.refusing = False
        await alerts.restart()

        async def delivered() -> bool:
            return any(
                kind == "firing" and fired.alert_id in ids
                for kind, ids in _ours_after(webhook, refused, "hot-03")
            )

        await wait_until(delivered, timeout=TIMEOUT, what="the firing notification, again")
        assert len(alerts.events.of(state="firing", host_id="hot-03", rule_id=RULE)) == 1
        assert fired.timestamp > T0


def _ours_after(webhook: WebhookServer, skip: int, host: str) -> list[tuple[str, list[str]]]:
    return [
        (str(body["kind"]), [str(alert["alert_id"]) for alert in _alerts(body)])
        for body in webhook.bodies("/flaky")[skip:]
        if body["rule_id"] == RULE and body["host_id"] == host
    ]
