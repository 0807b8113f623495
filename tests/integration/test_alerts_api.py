"""The alerts service's API through both doors: HTTP routes and NATS request/reply.

Rules, alerts, acks and silences; each refusal names the field and gets its status or code.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from alerts_helpers import T0, TIMEOUT, AlertsStack, cpu_rule

from mirror_schema import subjects
from mirror_schema.alert_api import AlertListReply, AlertRecordReply, RuleListReply, RuleReply
from mirror_schema.alerts import AlertEvent
from waiting import wait_until

RULE_ID = "cpu-test"


class Host:
    """One host's samples, in increasing sample time, 30.5 s apart (the rule's 60 s `for`
    elapses at the third sample over its threshold)."""

    def __init__(self, alerts: AlertsStack, host_id: str) -> None:
        self.alerts = alerts
        self.host_id = host_id
        self.at = T0

    async def sample(self, cpu: float) -> None:
        self.at += timedelta(seconds=30.5)
        await self.alerts.sample(self.host_id, self.at, cpu=cpu)

    def events(self, state: str) -> list[AlertEvent]:
        found = self.alerts.events.of(state=state, host_id=self.host_id)
        return [e for e in found if e.rule_id == RULE_ID]

    async def until(self, state: str, cpu: float) -> AlertEvent:
        """Publish samples at ``cpu`` until the test rule's ``state`` event is seen.

        A new rule reaches the evaluator a moment after POST returns (LISTEN/NOTIFY), so
        samples keep coming until it has it, as an agent's would.
        """

        async def seen() -> bool:
            if self.events(state):
                return True
            await self.sample(cpu)
            return False

        await wait_until(seen, timeout=TIMEOUT, what=f"{RULE_ID} {state} on {self.host_id}")
        (event,) = self.events(state)
        return event


async def fire(alerts: AlertsStack, host_id: str) -> tuple[Host, AlertEvent]:
    """Add the test's CPU rule (> 90 for 60 s, clear 80) and make it fire on ``host_id``."""
    await alerts.add_rule(cpu_rule(RULE_ID))
    host = Host(alerts, host_id)
    return host, await host.until("firing", cpu=95)


def detail(answer: httpx.Response) -> str:
    """The ``detail`` of an error response."""
    text: str = answer.json()["detail"]
    return text


async def request(alerts: AlertsStack, subject: str, body: object | bytes) -> bytes:
    """One NATS request to the service; the raw reply."""
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    reply = await alerts.nc.request(subject, data, timeout=5)
    return reply.data


# Rules over HTTP


async def test_rules_are_created_read_replaced_and_deleted(alerts: AlertsStack) -> None:
    """The seeded defaults are listed; a rule's life: 201, 409 on its id, 200, 204, 404."""
    listed = await alerts.http.get("/api/alerts/rules")
    assert listed.status_code == 200
    ids = [item["rule"]["id"] for item in listed.json()["items"]]
    assert "default-cpu-high" in ids
    assert all(rule_id.startswith("default-") for rule_id in ids)

    created = await alerts.http.post("/api/alerts/rules", json=cpu_rule(RULE_ID))
    assert created.status_code == 201, created.text
    assert created.json()["rule"]["threshold"] == 90
    assert created.json()["created_by"] == "api"
    got = await alerts.http.get(f"/api/alerts/rules/{RULE_ID}")
    assert got.status_code == 200
    assert got.json()["rule"] == created.json()["rule"]

    again = await alerts.http.post("/api/alerts/rules", json=cpu_rule(RULE_ID))
    assert again.status_code == 409
    assert detail(again).startswith("rule.id: ")
    assert RULE_ID in detail(again)

    replaced = await alerts.http.put(
        f"/api/alerts/rules/{RULE_ID}", json=cpu_rule(RULE_ID, threshold=95.0)
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["rule"]["threshold"] == 95
    got = await alerts.http.get(f"/api/alerts/rules/{RULE_ID}")
    assert got.json()["rule"]["threshold"] == 95

    unknown = await alerts.http.put("/api/alerts/rules/no-such-rule", json=cpu_rule("no-such-rule"))
    assert unknown.status_code == 404
    assert "no-such-rule" in detail(unknown)

    deleted = await alerts.http.delete(f"/api/alerts/rules/{RULE_ID}")
    assert deleted.status_code == 204
    assert (await alerts.http.get(f"/api/alerts/rules/{RULE_ID}")).status_code == 404
    assert (await alerts.http.delete(f"/api/alerts/rules/{RULE_ID}")).status_code == 404


async def test_put_without_an_id_takes_the_paths_and_another_id_is_refused(
    alerts: AlertsStack,
) -> None:
    """The body's id may be left out; a different one is refused naming rule.id."""
    await alerts.add_rule(cpu_rule(RULE_ID))
    body = cpu_rule(RULE_ID, severity="warning")
    del body["id"]
    replaced = await alerts.http.put(f"/api/alerts/rules/{RULE_ID}", json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["rule"]["severity"] == "warning"
    moved = await alerts.http.put(f"/api/alerts/rules/{RULE_ID}", json=cpu_rule("elsewhere"))
    assert moved.status_code == 422
    assert detail(moved).startswith("rule.id: ")


def _without(field: str) -> dict[str, Any]:
    body = cpu_rule("bad-rule")
    del body[field]
    return body


@pytest.mark.parametrize(
    ("body", "field", "mentions"),
    [
        (cpu_rule("bad-rule", metric="cpu_temp"), "rule.metric", "cpu_temp"),
        (_without("threshold"), "rule", "threshold"),
        (_without("kind"), "rule", "kind"),
        (cpu_rule("bad-rule", threshold="high"), "rule.threshold", "float"),
        (cpu_rule("bad-rule", clear_threshold=95.0), "rule.clear_threshold", "95.0"),
        (cpu_rule("bad-rule", colour="red"), "rule", "colour"),
        (cpu_rule("Bad Rule!"), "rule.id", "matching regex"),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field(
    alerts: AlertsStack, body: dict[str, Any], field: str, mentions: str
) -> None:
    """422 with a detail that names the field and shows the problem; nothing is stored."""
    answer = await alerts.http.post("/api/alerts/rules", json=body)
    assert answer.status_code == 422, answer.text
    assert detail(answer).startswith(f"{field}: ")
    assert mentions in detail(answer)
    ids = [
        item["rule"]["id"] for item in (await alerts.http.get("/api/alerts/rules")).json()["items"]
    ]
    assert "bad-rule" not in ids


async def test_a_body_that_is_not_json_is_a_400(alerts: AlertsStack) -> None:
    for send in (
        alerts.http.post("/api/alerts/rules", content=b"{kind: threshold"),
        alerts.http.put(f"/api/alerts/rules/{RULE_ID}", content=b"not json"),
        alerts.http.post("/api/alerts/silences", content=b'{"matchers": '),
    ):
        answer = await send
        assert answer.status_code == 400, answer.text
        assert detail(answer).startswith("body: not valid JSON")


# Alerts over HTTP


async def test_a_fired_alert_is_listed_and_has_its_events(alerts: AlertsStack) -> None:
    _, fired = await fire(alerts, "web-01")

    active = await alerts.http.get("/api/alerts/active", params={"host": "web-01"})
    assert active.status_code == 200
    ours = [a for a in active.json()["items"] if a["rule_id"] == RULE_ID]
    assert [(a["alert_id"], a["state"]) for a in ours] == [(fired.alert_id, "firing")]
    elsewhere = await alerts.http.get("/api/alerts/active", params={"host": "db-01"})
    assert elsewhere.json()["items"] == []

    firing = await alerts.http.get("/api/alerts", params={"host": "web-01", "status": "firing"})
    assert firing.status_code == 200
    assert fired.alert_id in [a["alert_id"] for a in firing.json()["items"]]
    resolved = await alerts.http.get("/api/alerts", params={"host": "web-01", "status": "resolved"})
    assert resolved.status_code == 200
    assert resolved.json()["items"] == []
    since = await alerts.http.get(
        "/api/alerts", params={"since": (fired.timestamp + timedelta(seconds=1)).isoformat()}
    )
    assert since.status_code == 200
    assert since.json()["items"] == []
    until_now = await alerts.http.get("/api/alerts", params={"since": fired.timestamp.isoformat()})
    assert fired.alert_id in [a["alert_id"] for a in until_now.json()["items"]]
    limited = await alerts.http.get("/api/alerts", params={"limit": "1"})
    assert len(limited.json()["items"]) == 1

    one = await alerts.http.get(f"/api/alerts/{fired.alert_id}")
    assert one.status_code == 200
    body = one.json()
    assert (body["alert_id"], body["rule_id"], body["host_id"]) == (
        fired.alert_id,
        RULE_ID,
        "web-01",
    )
    assert [(e["kind"], e["state"]) for e in body["events"]] == [("fired", "firing")]

    missing = await alerts.http.get("/api/alerts/no-such-alert")
    assert missing.status_code == 404
    assert "no-such-alert" in detail(missing)


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/alerts", {"status": "bogus"}, "status"),
        ("/api/alerts", {"since": "yesterday"}, "since"),
        ("/api/alerts", {"since": "2026-11-22T12:00:00"}, "since"),  # no zone
        ("/api/alerts", {"limit": "0"}, "limit"),
        ("/api/alerts", {"limit": "lots"}, "limit"),
        ("/api/alerts", {"host": "Not A Host"}, "host"),
        ("/api/alerts", {"colour": "red"}, "colour"),
        ("/api/alerts/active", {"host": "Not A Host"}, "host"),
    ],
)
async def test_a_bad_query_value_is_refused_naming_the_parameter(
    alerts: AlertsStack, path: str, params: dict[str, str], named: str
) -> None:
    answer = await alerts.http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert named in detail(answer)


async def test_ack_over_http_is_recorded_once_and_idempotent(alerts: AlertsStack) -> None:
    """200 acknowledged by the body's `by`; again, 200 unchanged; one event; 409 once resolved."""
    host, fired = await fire(alerts, "web-01")
    path = f"/api/alerts/{fired.alert_id}/ack"

    first = await alerts.http.post(path, json={"by": "ana"})
    assert first.status_code == 200, first.text
    acked = first.json()
    assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "ana")
    assert acked["acknowledged_at"] is not None
    assert [e["kind"] for e in acked["events"]] == ["fired", "acknowledged"]

    second = await alerts.http.post(path, json={"by": "bob"})
    assert second.status_code == 200
    assert second.json() == acked

    (event,) = await alerts.events.wait(1, state="acknowledged", host_id="web-01")
    assert (event.alert_id, event.acknowledged_by) == (fired.alert_id, "ana")
    assert (await alerts.http.post("/api/alerts/no-such-alert/ack")).status_code == 404

    resolved = await host.until("resolved", cpu=10)
    assert resolved.alert_id == fired.alert_id
    assert resolved.acknowledged_by == "ana"
    # The stream is in order: a second ack event would have come before the resolved one.
    assert len(alerts.events.of(state="acknowledged")) == 1

    late = await alerts.http.post(path, json={"by": "ana"})
    assert late.status_code == 409
    assert fired.alert_id in detail(late)
    assert (await alerts.http.get(f"/api/alerts/{fired.alert_id}")).json()["state"] == "resolved"
    history = await alerts.http.get("/api/alerts", params={"host": "web-01", "status": "resolved"})
    assert fired.alert_id in [a["alert_id"] for a in history.json()["items"]]


async def test_ack_without_a_body_is_by_the_api(alerts: AlertsStack) -> None:
    """`by` is optional; an unknown body field is refused."""
    _, fired = await fire(alerts, "web-01")
    refused = await alerts.http.post(f"/api/alerts/{fired.alert_id}/ack", json={"who": "ana"})
    assert refused.status_code == 422
    assert "who" in detail(refused)
    answer = await alerts.http.post(f"/api/alerts/{fired.alert_id}/ack")
    assert answer.status_code == 200, answer.text
    assert answer.json()["acknowledged_by"] == "api"


# Silences over HTTP


async def test_a_silence_is_created_listed_and_expired(alerts: AlertsStack) -> None:
    created = await alerts.http.post(
        "/api/alerts/silences",
        json={"matchers": {"host_ids": ["web-01"]}, "duration_seconds": 3600, "comment": "work"},
    )
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["matchers"]["host_ids"] == ["web-01"]
    assert (silence["comment"], silence["created_by"]) == ("work", "api")
    starts = datetime.fromisoformat(silence["starts_at"])
    ends = datetime.fromisoformat(silence["ends_at"])
    assert ends - starts == timedelta(hours=1)

    listed = await alerts.http.get("/api/alerts/silences")
    assert [s["id"] for s in listed.json()["items"]] == [silence["id"]]

    expired = await alerts.http.delete(f"/api/alerts/silences/{silence['id']}")
    assert expired.status_code == 204
    assert (await alerts.http.get("/api/alerts/silences")).json()["items"] == []
    again = await alerts.http.delete(f"/api/alerts/silences/{silence['id']}")
    assert again.status_code == 404
    unknown = await alerts.http.delete("/api/alerts/silences/no-such-silence")
    assert unknown.status_code == 404
    assert "no-such-silence" in detail(unknown)


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"duration_seconds": 60}, "matchers"),
        ({"matchers": {}, "duration_seconds": 60}, "matchers"),
        ({"matchers": {"hosts": ["web-01"]}, "duration_seconds": 60}, "hosts"),
        ({"matchers": {"host_ids": ["web-01"]}}, "ends_at"),
        (
            {"matchers": {"host_ids": ["web-01"]}, "ends_at": _in(1), "duration_seconds": 60},
            "ends_at",
        ),
        ({"matchers": {"host_ids": ["web-01"]}, "ends_at": _in(-1)}, "ends_at"),
        ({"matchers": {"host_ids": ["web-01"]}, "duration_seconds": 0}, "duration_seconds"),
    ],
)
async def test_a_bad_silence_is_refused_naming_the_field(
    alerts: AlertsStack, body: dict[str, Any], named: str
) -> None:
    answer = await alerts.http.post("/api/alerts/silences", json=body)
    assert answer.status_code == 422, answer.text
    assert named in detail(answer)
    assert (await alerts.http.get("/api/alerts/silences")).json()["items"] == []


# The NATS doors


async def test_rules_over_nats(alerts: AlertsStack) -> None:
    """rules.list returns the rules; rules.create refuses a bad rule naming the field."""
    listed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_RULES_LIST, {}), type=RuleListReply
    )
    assert listed.error is None
    assert "default-cpu-high" in [r.rule["id"] for r in listed.items]

    bad = msgspec.json.decode(
        await request(
            alerts,
            subjects.ALERTS_API_RULES_CREATE,
            {"rule": cpu_rule(RULE_ID, metric="cpu_temp"), "by": "ana"},
        ),
        type=RuleReply,
    )
    assert (bad.rule, bad.code) == (None, "invalid")
    assert bad.error is not None
    assert bad.error.startswith("rule.metric: ")
    assert "cpu_temp" in bad.error

    good = msgspec.json.decode(
        await request(
            alerts, subjects.ALERTS_API_RULES_CREATE, {"rule": cpu_rule(RULE_ID), "by": "ana"}
        ),
        type=RuleReply,
    )
    assert good.error is None
    assert good.rule is not None
    assert (good.rule.rule["id"], good.rule.created_by) == (RULE_ID, "ana")


async def test_alerts_over_nats(alerts: AlertsStack) -> None:
    """active and list return the fired alert; ack records `by`; get of an unknown id is
    not_found; a request that is not JSON gets an error reply, not silence."""
    _, fired = await fire(alerts, "web-01")

    active = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_ACTIVE, {"host": "web-01"}),
        type=AlertListReply,
    )
    assert active.error is None
    assert fired.alert_id in [a.alert_id for a in active.items]
    listed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_LIST, {"host": "web-01", "status": "firing"}),
        type=AlertListReply,
    )
    assert fired.alert_id in [a.alert_id for a in listed.items]
    bad_list = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_LIST, {"status": "bogus"}), type=AlertListReply
    )
    assert bad_list.code == "invalid"
    assert bad_list.error is not None
    assert "status" in bad_list.error

    acked = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_ACK, {"id": fired.alert_id, "by": "nats-op"}),
        type=AlertRecordReply,
    )
    assert acked.error is None
    assert acked.alert is not None
    assert (acked.alert.state, acked.alert.acknowledged_by) == ("acknowledged", "nats-op")
    (event,) = await alerts.events.wait(1, state="acknowledged", host_id="web-01")
    assert event.acknowledged_by == "nats-op"

    got = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, {"id": fired.alert_id}),
        type=AlertRecordReply,
    )
    assert got.alert is not None
    assert [e.kind for e in got.alert.events] == ["fired", "acknowledged"]
    missing = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, {"id": "no-such-alert"}),
        type=AlertRecordReply,
    )
    assert (missing.alert, missing.code) == (None, "not_found")
    assert missing.error is not None
    assert "no-such-alert" in missing.error

    malformed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, b"{not json"), type=AlertRecordReply
    )
    assert (malformed.alert, malformed.code) == (None, "invalid")
    assert malformed.error is not None
    assert malformed.error.startswith("body: not valid JSON")


# Health and metrics


async def test_metrics_count_requests_and_health_shows_the_leader(alerts: AlertsStack) -> None:
    assert (await alerts.http.get("/api/alerts/rules")).status_code == 200
    await request(alerts, subjects.ALERTS_API_RULES_LIST, {})
    metrics = await alerts.http.get("/metrics")
    assert metrics.status_code == 200
    assert "mirror_alerts_requests_total" in metrics.text
    counted = [
        line
        for line in metrics.text.splitlines()
        if line.startswith("mirror_alerts_requests_total{")
    ]
    assert any('door="http"' in line and 'operation="rules_list"' in line for line in counted)
    assert any('door="nats"' in line and 'operation="rules_list"' in line for line in counted)

    health = await alerts.health()
    assert health["details"]["role"] == "leader"
