"""The alerts service's API through both doors: HTTP routes and NATS request/reply.

Alerts, acks and silences; each refusal names the field and gets its status or code. Rules
are in test_alerts_api_rules.py.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from alerts_api_helpers import RULE_ID, detail, fire, request
from alerts_helpers import AlertsStack

from mirror_schema import subjects
from mirror_schema.alert_api import AlertRecord
from mirror_schema.api import Items, Reply

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
@pytest.mark.asyncio(loop_scope="module")
async def test_a_bad_query_value_is_refused_naming_the_parameter(
    refusing_alerts: AlertsStack, path: str, params: dict[str, str], named: str
) -> None:
    answer = await refusing_alerts.http.get(path, params=params)
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
@pytest.mark.asyncio(loop_scope="module")
async def test_a_bad_silence_is_refused_naming_the_field(
    refusing_alerts: AlertsStack, body: dict[str, Any], named: str
) -> None:
    answer = await refusing_alerts.http.post("/api/alerts/silences", json=body)
    assert answer.status_code == 422, answer.text
    assert named in detail(answer)
    assert (await refusing_alerts.http.get("/api/alerts/silences")).json()["items"] == []


# The NATS doors


async def test_alerts_over_nats(alerts: AlertsStack) -> None:
    """active and list return the fired alert; ack records `by`; get of an unknown id is
    not_found; a request that is not JSON gets an error reply, not silence."""
    _, fired = await fire(alerts, "web-01")

    active = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_ACTIVE, {"host": "web-01"}),
        type=Reply[Items[AlertRecord]],
    )
    assert active.error is None
    assert active.result is not None
    assert fired.alert_id in [a.alert_id for a in active.result.items]
    listed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_LIST, {"host": "web-01", "status": "firing"}),
        type=Reply[Items[AlertRecord]],
    )
    assert listed.result is not None
    assert fired.alert_id in [a.alert_id for a in listed.result.items]
    bad_list = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_LIST, {"status": "bogus"}),
        type=Reply[Items[AlertRecord]],
    )
    assert bad_list.code == "invalid"
    assert bad_list.error is not None
    assert "status" in bad_list.error

    acked = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_ACK, {"id": fired.alert_id, "by": "nats-op"}),
        type=Reply[AlertRecord],
    )
    assert acked.error is None
    assert acked.result is not None
    # The body's "by" is a claim: the audit names the identity the subject vouches for.
    assert (acked.result.state, acked.result.acknowledged_by) == ("acknowledged", "nats:admin")
    (event,) = await alerts.events.wait(1, state="acknowledged", host_id="web-01")
    assert event.acknowledged_by == "nats:admin"

    got = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, {"id": fired.alert_id}),
        type=Reply[AlertRecord],
    )
    assert got.result is not None
    assert [e.kind for e in got.result.events] == ["fired", "acknowledged"]
    missing = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, {"id": "no-such-alert"}),
        type=Reply[AlertRecord],
    )
    assert (missing.result, missing.code) == (None, "not_found")
    assert missing.error is not None
    assert "no-such-alert" in missing.error

    malformed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_GET, b"{not json"), type=Reply[AlertRecord]
    )
    assert (malformed.result, malformed.code) == (None, "malformed")
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
