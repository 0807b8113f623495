"""A signed command is valid for 24 h at most: the service refuses to sign a longer one, and an
agent refuses one that claims more (its journal remembers ids at least that long)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from agent_helpers import AgentProcess, dispatch, new_command, result_of
from commands_helpers import Stack

from callers import as_admin
from mirror_schema import subjects
from mirror_schema.command_signing import CLOCK_SKEW_SECONDS, MAX_VALIDITY_SECONDS
from mirror_schema.commands import CommandState
from servers import NatsServer

RESULT_WITHIN = 30.0


async def test_the_service_refuses_an_expiry_past_the_cap_naming_the_field(stack: Stack) -> None:
    """expires_at more than 24 h ahead: 422 over HTTP, the same words over NATS; a timeout past
    the day is refused too."""
    await stack.sample("cap-01")
    await stack.known("cap-01")
    late = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    body = {"hostname": "cap-01", "command": "uptime", "expires_at": late}
    answer = await stack.http.post("/api/commands", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("expires_at: "), answer.text
    assert "86400 s" in answer.json()["detail"]
    reply = msgspec.json.decode(
        (
            await stack.nc.request(as_admin(subjects.COMMANDS_REQUEST), msgspec.json.encode(body))
        ).data
    )
    assert reply["error"].startswith("expires_at: "), reply
    long = {"hostname": "cap-01", "command": "uptime", "timeout_seconds": 86_401}
    answer = await stack.http.post("/api/commands", json=long)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("timeout_seconds: ")
    (ok,) = await stack.create(
        hostname="cap-01",
        command="uptime",
        expires_at=(datetime.now(UTC) + timedelta(hours=23)).isoformat(),
    )
    assert ok["status"] == "dispatched"


async def test_an_agent_refuses_a_signed_command_valid_for_more_than_a_day(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """Genuinely signed, but expiring 25 h from now: reported `rejected` with the reason naming
    expires_at, never run. One expiring within the day (plus the skew allowed) runs."""
    marker = tmp_path / "ran"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    now = datetime.now(UTC)
    too_long = new_command(host_id, f"touch {marker}", expires_at=now + timedelta(hours=25))
    await dispatch(nats_server.url, too_long)
    result = await result_of(nats_server.url, host_id, too_long.id, within=RESULT_WITHIN)
    assert result.state == CommandState.REJECTED, agent.log()
    assert result.error is not None
    assert result.error.startswith("expires_at: "), result.error
    assert not marker.exists()
    edge = now + timedelta(seconds=MAX_VALIDITY_SECONDS + CLOCK_SKEW_SECONDS - 60)
    fine = new_command(host_id, "echo fine", expires_at=edge)
    await dispatch(nats_server.url, fine)
    result = await result_of(nats_server.url, host_id, fine.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
