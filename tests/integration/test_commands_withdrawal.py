"""Cancelling a dispatched command whose agent is offline: the commands service may not delete
the message from COMMANDS (streams deny it), so it publishes a signed withdrawal on
``commands.withdrawn.<host>.<id>`` (stream COMMAND_WITHDRAWALS) that the agent looks up before
it runs any command. A forged withdrawal (unsigned, another key, another command's) is
ignored: it can neither stop a genuine command nor be used to mark one cancelled."""

from collections.abc import Callable
from datetime import UTC, datetime
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
from commands_helpers import Stack

from mirror_schema import codec, streams, subjects
from mirror_schema.command_signing import (
    SigningKey,
    new_signing_key,
    sign_withdrawal,
    verify_withdrawal,
)
from mirror_schema.commands import CommandState, CommandWithdrawal
from servers import NatsServer

RESULT_WITHIN = 30.0


def stack_url(stack: Stack) -> str:
    url = stack.nc.connected_url
    assert url is not None
    return f"nats://{url.hostname}:{url.port}"


async def withdraw(
    url: str, host_id: str, command_id: str, key: SigningKey | None, *, named: str | None = None
) -> None:
    """Publish a withdrawal of `command_id` (naming `named` inside when given) signed with
    `key` (None: unsigned), as only the commands service should."""
    withdrawal = CommandWithdrawal(
        command_id=named or command_id,
        host_id=host_id,
        withdrawn_at=datetime.now(UTC),
        requested_by="mallory",
    )
    if key is not None:
        withdrawal = sign_withdrawal(withdrawal, key)
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(
            subjects.commands_withdrawn(host_id, command_id), codec.encode(withdrawal)
        )
    finally:
        await nc.close()


async def test_a_cancelled_command_of_an_offline_agent_never_runs_when_it_comes_back(
    stack: Stack, tmp_path: Path
) -> None:
    """Dispatched while no agent runs: cancel answers 200 `cancelled` at once (nothing is
    deleted from COMMANDS: a signed withdrawal is stored instead). The agent started afterwards
    takes the command from its stream, finds the withdrawal, never runs it, and remembers it
    in its journal; a later command runs."""
    await stack.sample("wd-01")
    await stack.known("wd-01")
    marker = tmp_path / "ran"
    (created,) = await stack.create(hostname="wd-01", command=f"touch {marker}")
    command_id = created["id"]
    await stack.wait_status(command_id, "dispatched")

    answer = await stack.http.post(
        f"/api/commands/{command_id}/cancel", json={"requested_by": "dana"}
    )

    assert answer.status_code == 200, answer.text
    record = answer.json()["command"]
    assert record["status"] == "cancelled"
    assert record["events"][-1]["actor"] == "dana"
    assert "withdrawn" in record["events"][-1]["detail"]
    dispatched = subjects.commands_dispatch("wd-01")
    info = await stack.js.stream_info(streams.COMMANDS.name, subjects_filter=dispatched)
    assert (info.state.subjects or {}).get(dispatched, 0) == 1  # still there
    stored = await stack.js.get_last_msg(
        streams.COMMAND_WITHDRAWALS.name, subjects.commands_withdrawn("wd-01", command_id)
    )
    withdrawal = msgspec.json.decode(stored.data or b"", type=CommandWithdrawal)
    verify_withdrawal(withdrawal, await stack.signing_key())
    assert (withdrawal.command_id, withdrawal.host_id) == (command_id, "wd-01")

    config = await stack.agent_config(
        tmp_path / "agent.toml", "wd-01", 'mode = "any"\nallow_shell = true\n'
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        (after,) = await stack.create(hostname="wd-01", command="echo alive")
        await stack.wait_status(after["id"], "succeeded")
        result = await result_of(stack_url(stack), "wd-01", command_id, within=RESULT_WITHIN)
    finally:
        await agent.stop()
    assert result.state == CommandState.CANCELLED, agent.log()
    assert result.started_at is None
    assert not marker.exists(), agent.log()
    journal = (tmp_path / "state" / "commands-wd-01.journal").read_text()
    assert command_id in journal
    assert (await stack.get(command_id))["status"] == "cancelled"


async def test_forged_withdrawals_are_ignored_and_a_genuine_one_is_honoured(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """Four commands queued for an agent that is not running, each with a withdrawal: unsigned,
    signed by a stranger's key, signed by the right key but naming another command, and a
    genuine one. The first three run; the genuine withdrawal's command is reported
    `cancelled` and never runs."""
    commands = [new_command(host_id, f"touch {tmp_path / f'ran-{n}'}") for n in range(4)]
    for command in commands:
        await dispatch(nats_server.url, command)
    unsigned, stranger, misnamed, genuine = commands
    await withdraw(nats_server.url, host_id, unsigned.id, None)
    await withdraw(nats_server.url, host_id, stranger.id, new_signing_key())
    await withdraw(nats_server.url, host_id, misnamed.id, TEST_SIGNING_KEY, named=genuine.id)
    await withdraw(nats_server.url, host_id, genuine.id, TEST_SIGNING_KEY)
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    for n, command in enumerate(commands[:3]):
        result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
        assert result.state == CommandState.SUCCEEDED, (n, agent.log())
        assert (tmp_path / f"ran-{n}").exists()
    result = await result_of(nats_server.url, host_id, genuine.id, within=RESULT_WITHIN)
    assert result.state == CommandState.CANCELLED, agent.log()
    assert not (tmp_path / "ran-3").exists()
    assert [r.status for r in await reported(nats_server.url, host_id, genuine.id)] == [None]
