"""`python -m mirror_commands`: cancelling a pending, a dispatched and a running command."""

import msgspec
from commands_helpers import Stack
from nats.aio.msg import Msg

from callers import as_admin
from mirror_schema import codec, streams, subjects
from mirror_schema.commands import (
    CommandCancel,
    CommandCancelReply,
    CommandState,
)


async def test_cancel_of_pending_is_final_and_a_final_command_cannot_be_cancelled(
    stack: Stack,
) -> None:
    """Pending -> cancelled (200); again -> 409 over HTTP and a conflict reply over NATS."""
    await stack.sample("cold-02")
    await stack.known("cold-02", online=False)
    (created,) = await stack.create(hostname="cold-02", command="x")
    page = (await stack.http.get("/api/commands", params={"status": "pending"})).json()
    assert [item["id"] for item in page["items"]] == [created["id"]]
    command_id = created["id"]
    answer = await stack.http.post(
        f"/api/commands/{command_id}/cancel", json={"requested_by": "alice"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["command"]["status"] == "cancelled"
    assert answer.json()["command"]["events"][-1]["actor"] == "alice"
    again = await stack.http.post(f"/api/commands/{command_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"].startswith("id: command")
    reply = (
        await stack.nc.request(
            as_admin(subjects.COMMANDS_API_CANCEL), msgspec.json.encode({"id": command_id})
        )
    ).data
    assert msgspec.json.decode(reply)["code"] == "conflict"


async def test_cancel_of_a_dispatched_command_no_agent_took_withdraws_it(stack: Stack) -> None:
    """No agent listens (its host went offline after the dispatch): a signed withdrawal is
    stored for its agent to find (nothing is deleted from COMMANDS), and the command is
    cancelled at once (test_commands_withdrawal: the agent then never runs it)."""
    await stack.sample("web-10")
    await stack.known("web-10")
    (command,) = await stack.create(hostname="web-10", command="sleep 1")
    await stack.wait_status(command["id"], "dispatched")

    answer = await stack.http.post(
        f"/api/commands/{command['id']}/cancel", json={"requested_by": "dana"}
    )

    assert answer.status_code == 200, answer.text
    record = answer.json()["command"]
    assert record["status"] == "cancelled"
    assert record["events"][-1]["actor"] == "dana"
    assert record["events"][-1]["detail"].startswith("withdrawn: its agent is offline")
    subject = subjects.commands_dispatch("web-10")
    info = await stack.js.stream_info(streams.COMMANDS.name, subjects_filter=subject)
    assert (info.state.subjects or {}).get(subject, 0) == 1
    withdrawn = subjects.commands_withdrawn("web-10", command["id"])
    info = await stack.js.stream_info(streams.COMMAND_WITHDRAWALS.name, subjects_filter=withdrawn)
    assert (info.state.subjects or {}).get(withdrawn, 0) == 1


async def test_cancel_of_a_running_command_asks_its_agent(stack: Stack) -> None:
    """Running: the agent gets a CommandCancel; its `cancelled` result ends the command."""
    await stack.sample("web-09")
    agent = await stack.agent("web-09")
    await stack.known("web-09")
    asked: list[CommandCancel] = []

    async def on_cancel(msg: Msg) -> None:
        asked.append(msgspec.json.decode(msg.data, type=CommandCancel))
        reply = CommandCancelReply(command_id=asked[-1].command_id, cancelled=True)
        await msg.respond(codec.encode(reply))

    await stack.nc.subscribe(subjects.commands_cancel("web-09"), cb=on_cancel)

    await stack.create(hostname="web-09", command="sleep 60")
    command = (await agent.wait_for(1))[0]
    await agent.status(command.id, "running")
    await stack.wait_status(command.id, "running")
    answer = await stack.http.post(
        f"/api/commands/{command.id}/cancel", json={"requested_by": "bob"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["agent_reply"]["cancelled"] is True
    assert [(c.command_id, c.requested_by) for c in asked] == [(command.id, "bob")]
    await agent.result(command.id, CommandState.CANCELLED, exit_code=-15, error="stopped by bob")
    record = await stack.wait_status(command.id, "cancelled")
    assert [(e["event"], e["actor"]) for e in record["events"]][-3:] == [
        ("cancel_requested", "bob"),
        ("cancel_answered", "bob"),
        ("cancelled", "agent:web-09"),
    ]
    assert record["events"][-2]["detail"] == "the agent is stopping it"
