"""The commands service's answer to bad input at both doors: a 4xx (HTTP) or an error reply
(NATS) whose detail names the field, never a 500."""

from typing import Any

import msgspec
from commands_helpers import Stack

from callers import as_admin
from mirror_schema import subjects


async def test_malformed_requests_get_errors_naming_the_field(stack: Stack) -> None:
    """HTTP answers 4xx with a detail naming the field; NATS replies with the same words."""
    await stack.sample("web-01")
    await stack.known("web-01")
    cases: list[tuple[object, int, str]] = [
        ({"hostname": "web-01", "command": "x", "priority": 11}, 422, "priority: "),
        ({"hostname": "web-01", "command": ""}, 422, "command: "),
        ({"hostname": "web-01", "command": "x", "timeout_seconds": 99999}, 422, "timeout_seconds"),
        ({"hostname": "ghost", "command": "x"}, 422, "hostname: no known host 'ghost'"),
        ({"targets": ["web-01", "ghost"], "command": "x"}, 422, "targets[1]: no known host"),
        ({"command": "x"}, 422, "body: "),
        (
            {"hostname": "web-01", "command": "x", "expires_at": "2001-01-01T00:00:00Z"},
            422,
            "expires_at: ",
        ),
    ]
    for body, status, start in cases:
        answer = await stack.http.post("/api/commands", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["detail"].startswith(start), (body, answer.text)
    answer = await stack.http.post("/api/commands", content=b"{not json")
    assert answer.status_code == 400
    assert (
        (await stack.http.get("/api/commands", params={"page": "0"}))
        .json()["detail"]
        .startswith("page: ")
    )
    missing = await stack.http.get("/api/commands/0190a0a0-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("id: no command")
    bad_id = await stack.http.get("/api/commands/not.an.id")
    assert bad_id.status_code == 422
    assert bad_id.json()["detail"].startswith("id: ")

    async def ask(subject: str, data: bytes) -> dict[str, Any]:
        reply: dict[str, Any] = msgspec.json.decode((await stack.nc.request(subject, data)).data)
        return reply

    reply = await ask(
        as_admin(subjects.COMMANDS_REQUEST),
        b'{"hostname": "web-01", "command": "x", "priority": -1}',
    )
    assert reply["error"].startswith("priority: ")
    assert "result" not in reply
    reply = await ask(as_admin(subjects.COMMANDS_REQUEST), b"garbage")
    assert reply["error"].startswith("body: not valid JSON")
    assert reply["code"] == "malformed"
    reply = await ask(as_admin(subjects.COMMANDS_API_GET), b"{}")
    assert reply["error"].startswith("id: Object missing required field")
    assert reply["code"] == "invalid"
    reply = await ask(as_admin(subjects.COMMANDS_API_LIST), b'{"page_size": 0}')
    assert reply["error"].startswith("page_size: ")
    reply = await ask(as_admin(subjects.COMMANDS_API_RETRY), b'{"id": "nope"}')
    assert reply["code"] == "not_found"
