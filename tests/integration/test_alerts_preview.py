"""The alerts service's rule preview and receivers list, through its own doors.

A preview names the hosts whose latest figures meet a rule, saves nothing, refuses a bad rule
exactly as creating it would (never a 500), and is the evaluating replica's alone: a standby
says so over HTTP, and NATS reaches the leader. Receivers are listed without their secrets,
each with how its latest delivery ended.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from alerts_api_helpers import detail, request
from alerts_helpers import FAST_ENV, TIMEOUT, AlertsStack, cpu_rule, running_alerts
from webhook_helpers import running_webhook

from mirror_schema import subjects
from mirror_schema.alert_api import RulePreview
from mirror_schema.api import Reply
from mirror_stage.supervisor import Supervised
from waiting import wait_until

PREVIEW = "/api/alerts/rules/preview"


def _now() -> datetime:
    return datetime.now(UTC)


async def _preview(alerts: AlertsStack, rule: dict[str, Any]) -> dict[str, Any]:
    answer = await alerts.http.post(PREVIEW, json=rule)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _fleet(alerts: AlertsStack) -> None:
    """hot-1 at 97 % CPU, cool-1 at 12 %, tagged; both known to the evaluator."""
    at = _now()
    await alerts.sample("hot-1", at, cpu=97.0, tags={"tier": "web"})
    await alerts.sample("cool-1", at, cpu=12.0, tags={"tier": "web"})

    async def both_known() -> bool:
        found = await _preview(alerts, {"kind": "offline", "after_intervals": 1000})
        return bool(found["hosts_known"] >= 2)

    await wait_until(both_known, timeout=TIMEOUT, what="the evaluator knowing both hosts")


async def test_a_preview_lists_the_hosts_over_the_threshold_and_saves_nothing(
    alerts: AlertsStack,
) -> None:
    await _fleet(alerts)
    before = (await alerts.http.get("/api/alerts/rules")).json()["items"]
    rule = {"kind": "threshold", "metric": "cpu_load", "operator": ">", "threshold": 90}
    found = await _preview(alerts, rule)
    assert [(m["host_id"], m["resource"], m["value"]) for m in found["matches"]] == [
        ("hot-1", "", 97.0)
    ]
    assert (found["hosts_matching"], found["truncated"]) == (1, False)
    scoped = await _preview(alerts, {**rule, "threshold": 10, "scope": {"host_ids": ["cool-1"]}})
    assert [m["host_id"] for m in scoped["matches"]] == ["cool-1"]
    assert scoped["hosts_in_scope"] == 1
    assert (await alerts.http.get("/api/alerts/rules")).json()["items"] == before
    assert alerts.events.of(host_id="hot-1") == []  # nothing fired


BAD_RULES: list[tuple[str, Any]] = [
    ("unknown metric", {**cpu_rule("bad"), "metric": "cpu_lod"}),
    ("threshold out of range", {**cpu_rule("bad"), "threshold": 400}),
    ("operator", {**cpu_rule("bad"), "operator": "=>"}),
    ("clear on the wrong side", {**cpu_rule("bad"), "clear_threshold": 95}),
    ("no kind", {k: v for k, v in cpu_rule("bad").items() if k != "kind"}),
    ("a scope host that is no host id", {**cpu_rule("bad"), "scope": {"host_ids": ["Bad Host"]}}),
    ("a list, not a rule", [1, 2]),
]


@pytest.mark.parametrize(("why", "body"), BAD_RULES, ids=[why for why, _ in BAD_RULES])
async def test_a_bad_rule_is_refused_as_creating_it_would_be(
    alerts: AlertsStack, why: str, body: Any
) -> None:
    previewed = await alerts.http.post(PREVIEW, json=body)
    created = await alerts.http.post("/api/alerts/rules", json=body)
    assert previewed.status_code == created.status_code == 422, why
    assert detail(previewed) == detail(created), why
    assert detail(previewed).startswith(("rule", "body")), detail(previewed)


async def test_a_body_that_is_not_json_is_400_not_500(alerts: AlertsStack) -> None:
    answer = await alerts.http.post(
        PREVIEW, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert detail(answer).startswith("body: ")


async def test_the_leader_answers_over_nats_and_a_standby_says_it_does_not_evaluate(
    alerts: AlertsStack,
) -> None:
    await _fleet(alerts)
    standby = Supervised(alerts.spec("standby"))
    await standby.start()
    alerts.replicas.append(standby)
    async with httpx.AsyncClient(base_url=standby.spec.address, timeout=10) as http:
        rule = cpu_rule("any")
        refused = await http.post(PREVIEW, json=rule)
        assert refused.status_code == 503
        assert "not evaluating" in detail(refused)
        # A bad rule is named all the same, whichever replica reads it.
        bad = await http.post(PREVIEW, json={**rule, "metric": "nope"})
        assert bad.status_code == 422
    for _ in range(4):  # whichever replica NATS would pick, the leader alone subscribes
        reply = await request(alerts, subjects.ALERTS_API_RULES_PREVIEW, {"rule": rule})
        found = msgspec.json.decode(reply, type=Reply[RulePreview]).result
        assert found is not None
        assert [m.host_id for m in found.matches] == ["hot-1"]


async def test_receivers_are_listed_without_secrets_with_their_last_delivery(
    tmp_path: Path, database: str
) -> None:
    async with running_webhook() as webhook:
        receivers = tmp_path / "receivers.json"
        secret_path = "/ok?token=very-secret"
        receivers.write_text(
            json.dumps(
                {
                    "receivers": [
                        {
                            "name": "ops",
                            "url": webhook.url(secret_path),
                            "headers": {"Authorization": "Bearer also-secret"},
                            "match": {"severities": ["critical"]},
                        },
                        {"name": "broken", "url": webhook.url("/bad")},
                        {"name": "quiet", "url": webhook.url("/ok"), "send_resolved": False},
                    ]
                }
            )
        )
        env = {**FAST_ENV, "MIRROR_STAGE_ALERTS_RECEIVERS_FILE": str(receivers)}
        async with running_alerts(tmp_path, database, env) as alerts:
            listed = (await alerts.http.get("/api/alerts/receivers")).json()["items"]
            assert [(r["name"], r["last_delivery"]) for r in listed] == [
                ("ops", None),
                ("broken", None),
                ("quiet", None),
            ]
            assert listed[0]["destination"] == f"http://127.0.0.1:{webhook.port}"
            assert listed[0]["severities"] == ["critical"]
            assert "secret" not in json.dumps(listed)

            await alerts.add_rule(cpu_rule("hot", for_seconds=0, operator=">", threshold=90))
            await alerts.sample("web-9", _now() - timedelta(seconds=1), cpu=99.0)

            async def delivered() -> list[dict[str, Any]]:
                items: list[dict[str, Any]] = (
                    await alerts.http.get("/api/alerts/receivers")
                ).json()["items"]
                return items

            async def all_tried() -> bool:
                return all(r["last_delivery"] for r in await delivered())

            await wait_until(all_tried, timeout=TIMEOUT, what="every receiver's delivery")
            last = {r["name"]: r["last_delivery"] for r in await delivered()}
            assert (last["ops"]["outcome"], last["ops"]["status"]) == ("sent", 200)
            assert (last["broken"]["outcome"], last["broken"]["status"]) == ("rejected", 400)
            assert (last["ops"]["rule_id"], last["ops"]["host_id"]) == ("hot", "web-9")
            assert last["ops"]["kind"] == "firing"
