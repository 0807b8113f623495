"""`python -m mirror_commands` as deployed: both doors, dispatch, results, expiry, cancel.

A test plays the agent: it reads commands.dispatch.<host> from COMMANDS and publishes
CommandStatus and CommandResult to COMMAND_RESULTS. Samples on METRICS make hosts known.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import msgspec
from commands_helpers import TIMEOUT, Stack
from nats.js.api import ConsumerConfig, DeliverPolicy

from callers import as_admin
from mirror_schema import subjects
from mirror_schema.api import Reply
from mirror_schema.command_api import (
    CommandPage,
    CommandRecord,
    CreatedCommands,
    SigningKeyReply,
)
from mirror_schema.command_signing import verify_command
from mirror_schema.commands import (
    CommandState,
)
from mirror_stage.supervisor import Supervised
from waiting import wait_until

# The NATS door's replies: each result in a Reply (mirror_schema.api).
decode_created_reply = msgspec.json.Decoder(Reply[CreatedCommands]).decode
decode_command_record_reply = msgspec.json.Decoder(Reply[CommandRecord]).decode
decode_command_page_reply = msgspec.json.Decoder(Reply[CommandPage]).decode
decode_signing_key_reply = msgspec.json.Decoder(Reply[SigningKeyReply]).decode


async def test_http_command_is_dispatched_and_succeeds_with_its_output(stack: Stack) -> None:
    """Online host: POST -> dispatched at once -> running -> succeeded with stdout, all logged."""
    await stack.sample("web-01")
    agent = await stack.agent("web-01")

    # The directory reads METRICS in the background: the host becomes known within moments.
    await stack.known("web-01")
    (created,) = await stack.create(
        hostname="WEB-01",
        command="echo hi",
        priority=7,
        requested_by="ops@lab",
        expires_at=None,
    )
    assert created["status"] == "dispatched"
    assert created["host_id"] == "web-01"
    assert created["requested_by"] == "ops@lab"
    (command,) = await agent.wait_for(1)
    assert (command.id, command.command, command.priority) == (created["id"], "echo hi", 7)
    assert command.timeout_seconds == 30
    assert command.expires_at is not None
    assert timedelta(minutes=59) < command.expires_at - command.created_at <= timedelta(hours=1)
    # Signed with the key the service gives agents; the NATS door gives the same key.
    public_key = await stack.signing_key()
    verify_command(command, public_key)
    reply = await stack.nc.request(as_admin(subjects.COMMANDS_API_SIGNING_KEY), b"", timeout=5)
    signing_key = decode_signing_key_reply(reply.data).result
    assert signing_key is not None
    assert signing_key.public_key == public_key

    await agent.status(command.id, "accepted")
    await stack.wait_status(command.id, "running")
    await agent.result(command.id, CommandState.SUCCEEDED, exit_code=0, stdout="hi\n")
    record = await stack.wait_status(command.id, "succeeded")
    assert (record["stdout"], record["stderr"], record["exit_code"]) == ("hi\n", "", 0)
    assert record["started_at"]
    assert record["finished_at"]
    assert record["dispatched_at"]
    events = [(e["event"], e["status"], e["actor"]) for e in record["events"]]
    assert events == [
        ("created", "pending", "ops@lab"),
        ("dispatched", "dispatched", "commands"),
        ("accepted", "running", "agent:web-01"),
        ("succeeded", "succeeded", "agent:web-01"),
    ]

    # A late `running` changes nothing: once the next result (later in the stream) has been
    # applied, the late report has been read too.
    await agent.status(command.id, "running")
    await stack.sample("web-01")
    (marker,) = await stack.create(hostname="web-01", command="marker")
    await agent.wait_for(2)
    await agent.result(marker["id"], CommandState.FAILED, exit_code=1)
    await stack.wait_status(marker["id"], "failed")
    again = await stack.get(command.id)
    assert again["status"] == "succeeded"
    assert len(again["events"]) == 4

    health = (await stack.http.get("/api/health")).json()
    assert health["status"] == "ok"
    assert health["details"]["hosts_known"] == 1
    # One nats-server: it leads every stream the stack has made, each its one replica.
    assert health["cluster"]["nodes"] == 1
    by_stream = {s["stream"]: s for s in health["cluster"]["streams"]}
    assert by_stream["COMMANDS"]["replicas"] == by_stream["COMMANDS"]["current"] == 1
    assert by_stream["COMMANDS"]["leader"]
    metrics = (await stack.http.get("/metrics")).text
    assert 'mirror_commands_transitions_total{state="succeeded"} 1.0' in metrics


async def test_automation_creates_over_nats_and_sees_the_failure(stack: Stack) -> None:
    """A plain nats-py request on commands.request; the agent fails it; get over NATS too."""
    await stack.sample("db-01")
    agent = await stack.agent("db-01")
    # The body's claim is ignored: the subject names who asked, and the server vouched for it.
    request = {
        "hostname": "db-01",
        "command": "false",
        "timeout_seconds": 5,
        "requested_by": "someone-else",
    }

    async def created() -> bool:
        reply = decode_created_reply(
            (
                await stack.nc.request(
                    as_admin(subjects.COMMANDS_REQUEST), msgspec.json.encode(request)
                )
            ).data
        )
        return reply.result is not None and len(reply.result.commands) == 1

    await stack.known("db-01")
    await wait_until(created, timeout=TIMEOUT, what="a command created over NATS")
    (command,) = await agent.wait_for(1)
    assert (command.requested_by, command.timeout_seconds) == ("nats:admin", 5)
    await agent.result(command.id, CommandState.FAILED, exit_code=2, stderr="boom")
    await stack.wait_status(command.id, "failed")
    answer = await stack.nc.request(
        as_admin(subjects.COMMANDS_API_GET), msgspec.json.encode({"id": command.id})
    )
    reply = decode_command_record_reply(answer.data)
    assert reply.error is None
    assert reply.result is not None
    assert (reply.result.status, reply.result.exit_code) == ("failed", 2)
    assert reply.result.stderr == "boom"
    assert reply.result.events[-1].detail == "exit code 2"

    # Retry: a new command for the same host and text, linked to the original, dispatched.
    retried = decode_command_record_reply(
        (
            await stack.nc.request(
                as_admin(subjects.COMMANDS_API_RETRY),
                msgspec.json.encode({"id": command.id, "requested_by": "ci"}),
            )
        ).data
    )
    assert retried.result is not None, retried.error
    assert retried.result.retry_of == command.id
    # Its requested_by is a claim: the audit names who asked, the identity the subject names.
    assert (retried.result.command, retried.result.requested_by) == ("false", "nats:admin")
    second = (await agent.wait_for(2))[1]
    assert second.id == retried.result.id
    original = await stack.get(command.id)
    assert original["events"][-1]["event"] == "retried"


async def test_an_offline_hosts_commands_wait_then_go_out_by_priority(stack: Stack) -> None:
    """Known but silent: pending; its next sample dispatches them highest priority first."""
    await stack.sample("edge-01")
    agent = await stack.agent("edge-01")
    await stack.known("edge-01", online=False)
    (low,) = await stack.create(hostname="edge-01", command="low", priority=1)
    (high,) = await stack.create(hostname="edge-01", command="high", priority=9)
    (mid,) = await stack.create(hostname="edge-01", command="mid")
    assert low["status"] == high["status"] == mid["status"] == "pending"
    assert agent.received == []
    await stack.sample("edge-01")
    received = await agent.wait_for(3)
    assert [c.command for c in received] == ["high", "mid", "low"]
    await stack.wait_status(high["id"], "dispatched")


async def test_the_sweep_expires_a_command_nobody_took(stack: Stack) -> None:
    """Pending past expires_at becomes expired, logged by the service."""
    await stack.sample("cold-01")
    await stack.known("cold-01", online=False)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    (created,) = await stack.create(hostname="cold-01", command="x", expires_at=soon)
    assert created["status"] == "pending"
    record = await stack.wait_status(created["id"], "expired")
    assert record["events"][-1]["event"] == "expired"
    assert record["finished_at"] is not None


async def test_a_tag_selector_fans_out_one_command_per_host_in_one_batch(stack: Stack) -> None:
    """Two web hosts of three (as the operator labelled them): two commands, one batch id, each
    dispatched to its own host."""
    for host_id, role, rack in (
        ("web-a", "web", "r1"),
        ("web-b", "web", "r2"),
        ("db-a", "db", "r1"),
    ):
        await stack.sample(host_id)
        await stack.label(host_id, tags={"role": role}, rack=rack)
    agents = [await stack.agent(h) for h in ("web-a", "web-b", "db-a")]
    body = {"selector": {"tags": {"role": "web"}}, "command": "uptime"}

    for host_id in ("web-a", "web-b", "db-a"):
        await stack.known(host_id)
    answer = await stack.http.post("/api/commands", json=body)
    assert answer.status_code == 201
    created = answer.json()
    assert sorted(c["host_id"] for c in created["commands"]) == ["web-a", "web-b"]
    assert {c["batch_id"] for c in created["commands"]} == {created["batch_id"]}
    assert created["batch_id"] is not None
    for agent in agents[:2]:
        assert [c.command for c in await agent.wait_for(1)] == ["uptime"]
    assert agents[2].received == []
    listed = (
        await stack.http.get("/api/commands", params={"batch_id": created["batch_id"]})
    ).json()
    assert listed["total"] == 2


async def test_paging_and_search(stack: Stack) -> None:
    """Total counts every match, pages are newest first, search looks in text and output."""
    await stack.sample("lab-01")
    agent = await stack.agent("lab-01")

    await stack.known("lab-01")
    for k in range(5):
        await stack.create(hostname="lab-01", command=f"cmd {k}")
    commands = await agent.wait_for(5)
    await agent.result(commands[2].id, CommandState.SUCCEEDED, exit_code=0, stdout="a 100%_needle")
    await stack.wait_status(commands[2].id, "succeeded")
    page = (await stack.http.get("/api/commands", params={"page_size": 2, "page": 3})).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 3, 2)
    assert [item["command"] for item in page["items"]] == ["cmd 0"]
    page = (await stack.http.get("/api/commands", params={"page_size": 2})).json()
    assert [item["command"] for item in page["items"]] == ["cmd 4", "cmd 3"]
    found = (await stack.http.get("/api/commands", params={"search": "100%_NEEDLE"})).json()
    assert [item["id"] for item in found["items"]] == [commands[2].id]
    found = (await stack.http.get("/api/commands", params={"search": "md 4"})).json()
    assert found["total"] == 1
    none = (await stack.http.get("/api/commands", params={"search": "100%x"})).json()
    assert none["total"] == 0
    by_status = await stack.http.get(
        "/api/commands", params={"status": "succeeded,failed", "hostname": "lab-01.example.com"}
    )
    assert by_status.json()["total"] == 1
    listed = decode_command_page_reply(
        (
            await stack.nc.request(
                as_admin(subjects.COMMANDS_API_LIST),
                msgspec.json.encode({"page_size": 1, "search": "cmd"}),
            )
        ).data
    )
    assert listed.result is not None
    assert listed.result.total == 5
    assert len(listed.result.items) == 1


async def test_a_result_that_never_decodes_is_dead_lettered(stack: Stack) -> None:
    """Garbage on commands.result.<host> goes to deadletter.commands.result.<host>, counted."""
    await stack.js.publish(subjects.commands_result("web-01"), b"{garbage")
    dead = await stack.js.subscribe(
        subjects.dead_letter(subjects.commands_result("web-01")),
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    msg = await dead.next_msg(timeout=TIMEOUT)
    assert msg.data == b"{garbage"
    assert msg.headers is not None
    assert msg.headers["Mirror-Dead-Letter-Consumer"] == "commands"
    metrics = (await stack.http.get("/metrics")).text
    assert 'mirror_dead_letters_total{consumer="commands"} 1.0' in metrics


async def test_a_batch_of_results_applies_the_good_and_dead_letters_the_rest(
    stack: Stack,
) -> None:
    """Garbage, another host's agent reporting on this host's command, then the command's
    genuine status and result, published back to back (one fetched batch): the genuine two are
    applied in order, the other two dead-lettered, and nothing of theirs is applied."""
    await stack.sample("web-01")
    agent = await stack.agent("web-01")
    intruder = await stack.agent("db-01")
    await stack.known("web-01")
    (created,) = await stack.create(hostname="web-01", command="true")
    (command,) = await agent.wait_for(1)
    dead = await stack.js.subscribe(
        f"{subjects.DEAD_LETTER_ALL[:-1]}{subjects.COMMANDS_RESULT_ALL}",
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    await stack.js.publish(subjects.commands_result("web-01"), b"{garbage")
    await intruder.result(command.id, CommandState.FAILED, exit_code=1)
    await agent.status(command.id, "running")
    await agent.result(command.id, CommandState.SUCCEEDED, exit_code=0)
    record = await stack.wait_status(created["id"], "succeeded")
    assert [e["event"] for e in record["events"]] == [
        "created",
        "dispatched",
        "running",
        "succeeded",
    ]
    letters = [await dead.next_msg(timeout=TIMEOUT) for _ in range(2)]
    assert sorted(m.subject for m in letters) == sorted(
        subjects.dead_letter(subjects.commands_result(h)) for h in ("web-01", "db-01")
    )
    reasons = {m.headers["Mirror-Dead-Letter-Reason"] for m in letters if m.headers}
    assert any("belongs to 'web-01', not 'db-01'" in reason for reason in reasons)


async def test_results_and_pending_commands_survive_a_restart(stack: Stack) -> None:
    """A result published while the service is down is applied after; a command pending for a
    host that comes back while the service is down is dispatched once it runs again (the
    pending hosts are read again at start-up)."""
    await stack.sample("off-r")
    agent = await stack.agent("web-r")
    late = await stack.agent("off-r")
    await stack.known("off-r", online=False)
    (waiting,) = await stack.create(hostname="off-r", command="b")
    assert waiting["status"] == "pending"
    await stack.sample("web-r")
    await stack.known("web-r")
    (running,) = await stack.create(hostname="web-r", command="a")
    assert running["status"] == "dispatched"
    await stack.service.stop()

    await agent.result(running["id"], CommandState.SUCCEEDED, exit_code=0, stdout="done")
    # The host comes back and publishes every second, as its agent would: a single sample
    # would be older than the online window by the time a slow start-up read it.
    publishing = asyncio.create_task(stack.sample_every("off-r", seconds=1.0, count=int(TIMEOUT)))
    try:
        stack.service = Supervised(stack.service.spec)
        await stack.service.start()
        record = await stack.wait_status(running["id"], "succeeded")
        assert record["stdout"] == "done"
        (pending,) = await late.wait_for(1)
        assert pending.id == waiting["id"]
        await stack.wait_status(waiting["id"], "dispatched")
    finally:
        publishing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publishing
