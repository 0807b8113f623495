"""The alerts service's rules through both doors: HTTP routes and the rules NATS subjects.

Create, read, replace and delete; each bad rule is refused naming the field, with its status
or code, and nothing is stored.
"""

from typing import Any

import msgspec
import pytest
from alerts_api_helpers import RULE_ID, detail, request
from alerts_helpers import AlertsStack, cpu_rule

from mirror_schema import subjects
from mirror_schema.alert_api import RuleRecord
from mirror_schema.api import Items, Reply

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
@pytest.mark.asyncio(loop_scope="module")
async def test_a_bad_rule_is_refused_naming_the_field(
    refusing_alerts: AlertsStack, body: dict[str, Any], field: str, mentions: str
) -> None:
    """422 with a detail that names the field and shows the problem; nothing is stored."""
    http = refusing_alerts.http
    answer = await http.post("/api/alerts/rules", json=body)
    assert answer.status_code == 422, answer.text
    assert detail(answer).startswith(f"{field}: ")
    assert mentions in detail(answer)
    ids = [item["rule"]["id"] for item in (await http.get("/api/alerts/rules")).json()["items"]]
    assert "bad-rule" not in ids


@pytest.mark.asyncio(loop_scope="module")
async def test_a_body_that_is_not_json_is_a_400(refusing_alerts: AlertsStack) -> None:
    http = refusing_alerts.http
    for send in (
        http.post("/api/alerts/rules", content=b"{kind: threshold"),
        http.put(f"/api/alerts/rules/{RULE_ID}", content=b"not json"),
        http.post("/api/alerts/silences", content=b'{"matchers": '),
    ):
        answer = await send
        assert answer.status_code == 400, answer.text
        assert detail(answer).startswith("body: not valid JSON")


# Rules over NATS


async def test_rules_over_nats(alerts: AlertsStack) -> None:
    """rules.list returns the rules; rules.create refuses a bad rule naming the field."""
    listed = msgspec.json.decode(
        await request(alerts, subjects.ALERTS_API_RULES_LIST, {}), type=Reply[Items[RuleRecord]]
    )
    assert listed.error is None
    assert listed.result is not None
    assert "default-cpu-high" in [r.rule.id for r in listed.result.items]

    bad = msgspec.json.decode(
        await request(
            alerts,
            subjects.ALERTS_API_RULES_CREATE,
            {"rule": cpu_rule(RULE_ID, metric="cpu_temp"), "by": "ana"},
        ),
        type=Reply[RuleRecord],
    )
    assert (bad.result, bad.code) == (None, "invalid")
    assert bad.error is not None
    assert bad.error.startswith("rule.metric: ")
    assert "cpu_temp" in bad.error

    good = msgspec.json.decode(
        await request(
            alerts, subjects.ALERTS_API_RULES_CREATE, {"rule": cpu_rule(RULE_ID), "by": "ana"}
        ),
        type=Reply[RuleRecord],
    )
    assert good.error is None
    assert good.result is not None
    assert (good.result.rule.id, good.result.created_by) == (RULE_ID, "nats:admin")
