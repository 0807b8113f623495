"""Signed commands: an agent runs only what the commands service signed, for its host, before
its expiry, once. Each test tries to make it run something else, and must fail; a genuine
command published after them shows the agent was listening all along."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
from agent_helpers import (
    TEST_SIGNING_KEY,
    AgentProcess,
    dispatch,
    new_command,
    reported,
    result_of,
)

from mirror_agent.commands.loop import consumer_name
from mirror_schema import streams, subjects
from mirror_schema.command_signing import new_signing_key, sign_command
from mirror_schema.commands import CommandState
from servers import NatsServer
from waiting import wait_until

RESULT_WITHIN = 30.0


async def dead_letter_reasons(url: str, host_id: str, count: int) -> list[str]:
    """The reasons of the first `count` dead letters of commands.dispatch.<host>."""
    nc = await nats.connect(url)
    try:
        dead = await nc.jetstream().subscribe(
            subjects.dead_letter(subjects.commands_dispatch(host_id)),
            ordered_consumer=True,
            stream=streams.DEADLETTER.name,
        )
        reasons = []
        for _ in range(count):
            msg = await dead.next_msg(timeout=10)
            assert msg.headers is not None
            reasons.append(msg.headers["Mirror-Dead-Letter-Reason"])
        return reasons
    finally:
        await nc.close()


async def proof_of_life(url: str, host_id: str) -> None:
    """A genuine command after the attempts: it runs, so the agent saw the ones before it."""
    genuine = new_command(host_id, "echo genuine")
    await dispatch(url, genuine)
    result = await result_of(url, host_id, genuine.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED


async def test_unsigned_forged_and_altered_commands_never_run(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """Published by an identity allowed on commands.dispatch.<host> but without the service's
    key: unsigned, signed by another key, or a genuine signature on changed text. None runs,
    none leaves a result, each is dead-lettered with the reason."""
    marker = tmp_path / "ran"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    unsigned = new_command(host_id, f"touch {marker}")
    forged = new_command(host_id, f"touch {marker}")
    genuine = sign_command(new_command(host_id, "echo harmless"), new_signing_key())
    altered = msgspec.structs.replace(
        sign_command(new_command(host_id, "echo harmless"), TEST_SIGNING_KEY),
        command=f"touch {marker}",
    )
    await dispatch(nats_server.url, unsigned, key=None)
    await dispatch(nats_server.url, forged, key=new_signing_key())
    await dispatch(nats_server.url, genuine, key=None)  # signed, but by a stranger's key
    await dispatch(nats_server.url, altered, key=None)
    await proof_of_life(nats_server.url, host_id)
    assert not marker.exists(), agent.log()
    for command in (unsigned, forged, genuine, altered):
        assert await reported(nats_server.url, host_id, command.id) == []
    reasons = await dead_letter_reasons(nats_server.url, host_id, 4)
    assert "is not signed" in reasons[0]
    assert all("does not verify" in reason for reason in reasons[1:]), reasons


async def test_a_replayed_genuine_command_runs_once(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """The same signed command published again later (a new Nats-Msg-Id, so the stream keeps
    it): the agent has seen its id and does not run it again."""
    marker = tmp_path / "runs"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    command = sign_command(new_command(host_id, f"echo run >> {marker}"), TEST_SIGNING_KEY)
    await dispatch(nats_server.url, command, key=None)
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED
    await dispatch(nats_server.url, command, key=None, msg_id=f"{command.id}-replayed")
    await proof_of_life(nats_server.url, host_id)
    assert marker.read_text().splitlines() == ["run"], agent.log()


async def test_an_expired_signed_command_and_a_stretched_expiry_never_run(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """A genuine command past its expiry is reported `expired`; the same with its expiry moved
    forward by whoever replays it no longer verifies."""
    marker = tmp_path / "ran"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    past = datetime.now(UTC) - timedelta(seconds=5)
    expired = sign_command(
        new_command(host_id, f"touch {marker}", expires_at=past), TEST_SIGNING_KEY
    )
    stretched = msgspec.structs.replace(
        sign_command(new_command(host_id, f"touch {marker}", expires_at=past), TEST_SIGNING_KEY),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    await dispatch(nats_server.url, expired, key=None)
    await dispatch(nats_server.url, stretched, key=None)
    result = await result_of(nats_server.url, host_id, expired.id, within=RESULT_WITHIN)
    assert result.state == CommandState.EXPIRED
    await proof_of_life(nats_server.url, host_id)
    assert not marker.exists(), agent.log()
    assert await reported(nats_server.url, host_id, stretched.id) == []
    (reason,) = await dead_letter_reasons(nats_server.url, host_id, 1)
    assert "does not verify" in reason


async def test_an_agent_without_the_public_key_takes_no_command(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """Commands on but no signing_public_key: the agent streams metrics and takes nothing."""
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    kept = [line for line in agent.config.read_text().splitlines() if "signing_public" not in line]
    agent.config.write_text("\n".join(kept) + "\n")
    await agent.start()
    await wait_until(
        lambda: "commands.disabled" in agent.log(), timeout=RESULT_WITHIN, what="commands off"
    )
    assert "signing_public_key" in agent.log()
    nc = await nats.connect(nats_server.url)
    try:
        infos = await nc.jetstream().consumers_info(streams.COMMANDS.name)
        names = [info.name for info in infos]
    finally:
        await nc.close()
    assert consumer_name(host_id) not in names
