"""Rules, silences, the rule preview and receivers through the twin, as the HUD's admin panel
calls them, logins on: a viewer reads and changes nothing, an operator's changes are recorded
under their own name whatever the body claims, and bad bodies are named, never a 500."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
import pytest_asyncio
from admin_helpers import AdminStack, People, people, running_admin_stack
from alerts_helpers import cpu_rule, sample_body

from mirror_schema import subjects
from servers import PostgresServer
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

PREVIEW = "/api/alerts/rules/preview"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> AsyncIterator[AdminStack]:
    async with (
        postgres_server.fresh_database() as database,
        running_admin_stack(tmp_path_factory.mktemp("twin-rules"), database) as running,
    ):
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def folks(stack: AdminStack) -> People:
    return await people(stack)


async def _publish(stack: AdminStack, host: str, cpu: float) -> None:
    nc = await nats.connect(stack.nats_url)
    try:
        body = sample_body(host, datetime.now(UTC), cpu=cpu)
        await nc.jetstream().publish(subjects.metrics_raw(host), msgspec.json.encode(body))
    finally:
        await nc.close()


async def test_a_viewer_reads_rules_silences_and_receivers_and_changes_none(
    folks: People,
) -> None:
    vera = await folks.session("vera")
    try:
        for path in ("/api/alerts/rules", "/api/alerts/silences", "/api/alerts/receivers"):
            answer = await vera.call("GET", path)
            assert answer.status_code == 200, (path, answer.text)
            assert "items" in answer.json()
        changes: list[tuple[str, str, Any]] = [
            ("POST", "/api/alerts/rules", cpu_rule("viewer-rule")),
            ("PUT", "/api/alerts/rules/default-cpu-high", cpu_rule("default-cpu-high")),
            ("DELETE", "/api/alerts/rules/default-cpu-high", None),
            (
                "POST",
                "/api/alerts/silences",
                {"matchers": {"host_ids": ["a"]}, "duration_seconds": 9},
            ),
            ("DELETE", "/api/alerts/silences/any", None),
            ("POST", PREVIEW, cpu_rule("viewer-rule")),
        ]
        for method, path, body in changes:
            answer = await vera.call(method, path, body)
            assert answer.status_code == 403, (method, path, answer.text)
        rules = (await vera.call("GET", "/api/alerts/rules")).json()["items"]
        assert "viewer-rule" not in [r["rule"]["id"] for r in rules]
        assert "default-cpu-high" in [r["rule"]["id"] for r in rules]
    finally:
        await vera.close()


async def test_an_operators_changes_are_theirs_whatever_the_body_claims(folks: People) -> None:
    otto = await folks.session("otto")
    me, them = folks.name("otto"), folks.name("ada")
    rule_id = f"rule-{me}"
    try:
        silence = await otto.call(
            "POST",
            "/api/alerts/silences",
            {"matchers": {"host_ids": ["web-1"]}, "duration_seconds": 900, "by": them},
        )
        assert silence.status_code == 201, silence.text
        assert silence.json()["created_by"] == me
        created = await otto.call("POST", "/api/alerts/rules", cpu_rule(rule_id))
        assert created.status_code == 201, created.text
        assert created.json()["created_by"] == me
        claimed = await otto.call("POST", "/api/alerts/rules", {**cpu_rule("x"), "by": them})
        assert claimed.status_code == 422  # a rule has no such field: nobody is named
        assert claimed.json()["detail"].startswith("rule")
        updated = await otto.call(
            "PUT", f"/api/alerts/rules/{rule_id}", cpu_rule(rule_id, threshold=95.0)
        )
        assert updated.status_code == 200
        assert updated.json()["updated_by"] == me
        listed = (await otto.call("GET", "/api/alerts/silences")).json()["items"]
        mine = [s for s in listed if s["id"] == silence.json()["id"]]
        assert mine[0]["created_by"] == me
        expired = await otto.call("DELETE", f"/api/alerts/silences/{silence.json()['id']}")
        assert expired.status_code == 204
        deleted = await otto.call("DELETE", f"/api/alerts/rules/{rule_id}")
        assert deleted.status_code == 204
    finally:
        await otto.close()


async def test_the_preview_through_the_twin_names_the_hot_host(
    folks: People, stack: AdminStack
) -> None:
    otto = await folks.session("otto")
    rule = {"kind": "threshold", "metric": "cpu_load", "operator": ">=", "threshold": 93}
    try:
        await _publish(stack, "toasty-1", 98.0)
        await _publish(stack, "chilly-1", 3.0)

        async def previewed() -> bool:
            answer = await otto.call("POST", PREVIEW, rule)
            assert answer.status_code == 200, answer.text
            return [m["host_id"] for m in answer.json()["matches"]] == ["toasty-1"]

        await wait_until(previewed, timeout=20, what="the preview naming toasty-1")
        async with folks.bearer() as robot:  # an operator's token previews too
            assert (await robot.post(PREVIEW, json=rule)).status_code == 200
    finally:
        await otto.close()


BAD: list[tuple[str, str, Any, int, str]] = [
    ("POST", PREVIEW, {**cpu_rule("b"), "metric": "nope"}, 422, "rule.metric: unknown metric"),
    ("POST", PREVIEW, {**cpu_rule("b"), "threshold": "high"}, 422, "rule.threshold: "),
    ("POST", PREVIEW, {**cpu_rule("b"), "kind": "magic"}, 422, "rule"),
    ("POST", "/api/alerts/rules", {**cpu_rule("b"), "operator": "=="}, 422, "rule.operator: "),
    ("PUT", "/api/alerts/rules/Bad%20Id", cpu_rule("b"), 422, "rule.id: "),
    ("POST", "/api/alerts/silences", {"matchers": {}, "duration_seconds": 60}, 422, "matchers"),
    ("POST", "/api/alerts/silences", {"matchers": {"host_ids": ["a"]}}, 422, "ends_at: "),
    (
        "POST",
        "/api/alerts/silences",
        {"matchers": {"host_ids": ["a"]}, "duration_seconds": -5},
        422,
        "duration_seconds: ",
    ),
    ("DELETE", "/api/alerts/silences/no-such-silence", None, 404, "id: "),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "starts"), BAD, ids=[f"{b[0]} {b[1]} {b[4]}" for b in BAD]
)
async def test_a_bad_body_through_the_twin_names_the_field(
    folks: People, method: str, path: str, body: Any, status: int, starts: str
) -> None:
    otto = await folks.session("otto")
    try:
        answer = await otto.call(method, path, body)
        assert answer.status_code == status, answer.text
        assert answer.json()["detail"].startswith(starts), answer.json()
    finally:
        await otto.close()


async def test_receivers_are_listed_through_the_twin(folks: People) -> None:
    vera = await folks.session("vera")
    try:
        answer = await vera.call("GET", "/api/alerts/receivers")
        assert answer.status_code == 200
        assert answer.json() == {"items": []}  # none configured in this stack
    finally:
        await vera.close()
