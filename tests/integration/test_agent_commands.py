"""The agent's command loop as deployed: a real agent process, real nats-server, real commands."""

import contextlib
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import pytest
from agent_helpers import (
    AgentProcess,
    dispatch,
    new_command,
    reported,
    result_of,
)
from nats.js.api import ConsumerInfo

from mirror_agent.commands.loop import consumer_name
from mirror_schema import codec, streams, subjects
from mirror_schema.commands import CommandCancel, CommandState, OutputChunk
from servers import NatsServer
from waiting import wait_until

RESULT_WITHIN = 30.0


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_a_command_reports_running_then_succeeded_with_its_stdout(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """A Command on commands.dispatch.<host> gives `running` (with its pid) then exactly one
    `succeeded` result with the output, deduplicated by `<id>:running` and `<id>:result`;
    its live output arrives on commands.output.<host>.<id>."""
    agent = agent_factory('allowlist = ["echo *"]\n')
    command = new_command(host_id, "echo hello-from-the-agent")
    nc = await nats.connect(nats_server.url)
    chunks: list[OutputChunk] = []

    async def on_chunk(msg: nats.aio.client.Msg) -> None:
        chunks.append(codec.decode_output_chunk(msg.data))

    await nc.subscribe(subjects.commands_output(host_id, command.id), cb=on_chunk)
    await agent.start()
    await dispatch(nats_server.url, command)
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    assert result.exit_code == 0
    assert result.stdout == "hello-from-the-agent\n"
    assert result.started_at is not None
    assert result.started_at <= result.finished_at
    events = await reported(nats_server.url, host_id, command.id)
    assert [e.msg_id for e in events] == [f"{command.id}:running", f"{command.id}:result"]
    status = events[0].status
    assert status is not None
    assert status.status == "running"
    assert status.pid
    await wait_until(lambda: bool(chunks), timeout=10, what="the live output")
    assert "".join(c.data for c in chunks) == "hello-from-the-agent\n"
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    await nc.close()


async def test_a_command_sent_while_the_agent_is_away_runs_when_it_starts(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """COMMANDS keeps the command; the agent's durable consumer takes it at its first start."""
    agent = agent_factory('allowlist = ["echo *"]\n')
    command = new_command(host_id, "echo queued")
    await dispatch(nats_server.url, command)
    await agent.start()
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    assert result.stdout == "queued\n"


async def test_an_expired_command_never_runs(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """Past its expires_at, a command is reported `expired` and not run."""
    marker = tmp_path / "expired-ran"
    agent = agent_factory('mode = "any"\n')
    command = new_command(
        host_id, f"touch {marker}", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await dispatch(nats_server.url, command)
    await agent.start()
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.EXPIRED, agent.log()
    assert result.started_at is None
    assert result.error is not None
    assert "expired" in result.error
    assert not marker.exists()


async def test_a_command_outside_the_allowlist_is_rejected_and_never_runs(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """With the default allowlist, `touch FILE` and `uptime; touch FILE` are `rejected`
    with the reason, and the file is never created; an allowed command still runs."""
    marker = tmp_path / "rejected-ran"
    agent = agent_factory("")
    await agent.start()
    plain = new_command(host_id, f"touch {marker}")
    chained = new_command(host_id, f"uptime; touch {marker}")
    allowed = new_command(host_id, "uptime")
    for command in (plain, chained, allowed):
        await dispatch(nats_server.url, command)
    first = await result_of(nats_server.url, host_id, plain.id, within=RESULT_WITHIN)
    second = await result_of(nats_server.url, host_id, chained.id, within=RESULT_WITHIN)
    third = await result_of(nats_server.url, host_id, allowed.id, within=RESULT_WITHIN)
    assert first.state == CommandState.REJECTED, agent.log()
    assert first.error is not None
    assert "allowlist" in first.error
    assert second.state == CommandState.REJECTED
    assert second.error is not None
    assert "';'" in second.error
    assert third.state == CommandState.SUCCEEDED
    assert "load average" in third.stdout
    assert not marker.exists()
    for command in (plain, chained):
        assert [e.msg_id for e in await reported(nats_server.url, host_id, command.id)] == [
            f"{command.id}:result"
        ]


async def test_a_command_running_when_the_agent_is_killed_is_failed_and_never_rerun(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """SIGKILL during a long command: its whole process group (the shell and the child it
    left in the background) dies with the agent, by the agent's reaper; after a restart the
    command is reported `failed` ("agent restarted during execution"), and it ran once."""
    marker = tmp_path / "runs"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    await agent.start()
    command = new_command(host_id, f"echo $$ >> {marker}; sleep 60 & sleep 60", timeout_seconds=120)
    await dispatch(nats_server.url, command)

    async def running() -> bool:
        events = await reported(nats_server.url, host_id, command.id)
        return any(e.status for e in events) and len(lines(marker)) == 1

    await wait_until(running, timeout=RESULT_WITHIN, what="the command to be running")
    group = int(lines(marker)[0])
    assert group_alive(group)
    await agent.kill()
    try:

        async def gone() -> bool:
            return not group_alive(group)

        await wait_until(gone, timeout=RESULT_WITHIN, what="the command's group to be killed")
        await agent.start()
        result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
        assert result.state == CommandState.FAILED, agent.log()
        assert result.error == "agent restarted during execution"
        assert result.started_at is not None
        nc = await nats.connect(nats_server.url)
        info = await nc.jetstream().consumer_info(streams.COMMANDS.name, consumer_name(host_id))
        await nc.close()
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
        assert len(lines(marker)) == 1
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # only if the reaper failed


def group_alive(pgid: int) -> bool:
    """Whether any process of process group `pgid` is still running (not a zombie)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


async def test_a_command_delivered_twice_runs_once(
    nats_server: NatsServer,
    host_id: str,
    agent_factory: Callable[[str], AgentProcess],
    tmp_path: Path,
) -> None:
    """The same command id stored twice in COMMANDS (as after a lost ack) runs once; the
    second delivery is acked and nothing else."""
    marker = tmp_path / "runs"
    agent = agent_factory('mode = "any"\nallow_shell = true\n')
    command = new_command(host_id, f"echo run >> {marker}")
    await dispatch(nats_server.url, command, msg_id=f"{command.id}-first")
    await dispatch(nats_server.url, command, msg_id=f"{command.id}-again")
    await agent.start()
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    nc = await nats.connect(nats_server.url)

    async def both_acked() -> bool:
        info = await nc.jetstream().consumer_info(streams.COMMANDS.name, consumer_name(host_id))
        return info.ack_floor.stream_seq == info.delivered.stream_seq and info.num_pending == 0

    await wait_until(both_acked, timeout=10, what="both deliveries acknowledged")
    await nc.close()
    assert lines(marker) == ["run"]
    assert len(await reported(nats_server.url, host_id, command.id)) == 2  # running, result


async def test_cancel_stops_a_running_command(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """A CommandCancel on commands.cancel.<host> kills the command's process group and
    gets cancelled=true; the result is `cancelled`. One for a finished command gets
    cancelled=false; one for a command not received yet settles it: it never runs."""
    agent = agent_factory('allowlist = ["sleep *"]\n')
    await agent.start()
    command = new_command(host_id, "sleep 60", timeout_seconds=120)
    await dispatch(nats_server.url, command)

    async def running() -> bool:
        return any(e.status for e in await reported(nats_server.url, host_id, command.id))

    await wait_until(running, timeout=RESULT_WITHIN, what="the command to be running")
    nc = await nats.connect(nats_server.url)
    cancel = CommandCancel(command_id=command.id, requested_by="tester")
    answer = await nc.request(subjects.commands_cancel(host_id), codec.encode(cancel), timeout=5)
    reply = codec.decode_command_cancel_reply(answer.data)
    assert reply.cancelled is True
    result = await result_of(nats_server.url, host_id, command.id, within=RESULT_WITHIN)
    assert result.state == CommandState.CANCELLED, agent.log()
    assert result.error == "cancelled by tester"
    again = await nc.request(subjects.commands_cancel(host_id), codec.encode(cancel), timeout=5)
    reply = codec.decode_command_cancel_reply(again.data)
    assert reply.cancelled is False
    assert reply.error is not None
    assert "already finished" in reply.error

    early = new_command(host_id, "sleep 30", timeout_seconds=60)
    ahead = CommandCancel(command_id=early.id, requested_by="tester")
    answer = await nc.request(subjects.commands_cancel(host_id), codec.encode(ahead), timeout=5)
    assert codec.decode_command_cancel_reply(answer.data).cancelled is True
    await nc.close()
    await dispatch(nats_server.url, early)
    result = await result_of(nats_server.url, host_id, early.id, within=RESULT_WITHIN)
    assert (result.state, result.error) == (
        CommandState.CANCELLED,
        "cancelled by tester before it started",
    )

    async def settled() -> bool:
        info = await js_consumer_info(nats_server.url, host_id)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await wait_until(settled, timeout=10, what="the early command's delivery acknowledged")
    assert [e.status for e in await reported(nats_server.url, host_id, early.id)] == [None]


async def js_consumer_info(url: str, host_id: str) -> ConsumerInfo:
    nc = await nats.connect(url)
    try:
        return await nc.jetstream().consumer_info(streams.COMMANDS.name, consumer_name(host_id))
    finally:
        await nc.close()


async def test_a_long_command_does_not_hold_up_the_next(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """Commands run side by side: `echo` finishes while an earlier `sleep` still runs."""
    agent = agent_factory('allowlist = ["sleep *", "echo *"]\n')
    await agent.start()
    slow = new_command(host_id, "sleep 60", timeout_seconds=120)
    quick = new_command(host_id, "echo quick")
    await dispatch(nats_server.url, slow)
    await dispatch(nats_server.url, quick)
    result = await result_of(nats_server.url, host_id, quick.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    slow_events = await reported(nats_server.url, host_id, slow.id)
    assert [e.msg_id for e in slow_events] == [f"{slow.id}:running"]
    assert await agent.stop() == 0
    stopped = await result_of(nats_server.url, host_id, slow.id, within=RESULT_WITHIN)
    assert stopped.state == CommandState.FAILED
    assert stopped.error == "agent stopped during execution"


async def test_bad_input_is_dead_lettered_and_the_agent_carries_on(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """A dispatch that does not decode, and one carrying another host's id, go to
    deadletter.commands.dispatch.<host> with the reason; the next command still runs."""
    agent = agent_factory('allowlist = ["echo *"]\n')
    await agent.start()
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    subject = subjects.commands_dispatch(host_id)
    await js.publish(subject, b"{not json", headers={"Nats-Msg-Id": f"garbage-{host_id}"})
    foreign = new_command("someone-else", "echo not-mine")
    await js.publish(subject, codec.encode(foreign), headers={"Nats-Msg-Id": foreign.id})
    good = new_command(host_id, "echo still-here")
    await dispatch(nats_server.url, good)
    result = await result_of(nats_server.url, host_id, good.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    dead = await js.subscribe(
        subjects.dead_letter(subject), ordered_consumer=True, stream=streams.DEADLETTER.name
    )
    reasons = []
    for _ in range(2):
        msg = await dead.next_msg(timeout=10)
        assert msg.headers is not None
        reasons.append(msg.headers["Mirror-Dead-Letter-Reason"])
    await nc.close()
    assert "not a valid Command" in reasons[0]
    assert "someone-else" in reasons[1]
    assert await reported(nats_server.url, "someone-else", foreign.id) == []


async def test_with_commands_off_there_is_no_consumer(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """mode = "off": the agent publishes its samples and creates no consumer on COMMANDS."""
    agent = agent_factory('mode = "off"\n')
    await agent.start()
    nc = await nats.connect(nats_server.url)

    async def sampled() -> bool:
        info = await nc.jetstream().stream_info(
            streams.METRICS.name, subjects_filter=subjects.metrics_raw(host_id)
        )
        return bool(info.state.subjects)

    await wait_until(sampled, timeout=20, what="the agent's first sample")
    with pytest.raises(nats.js.errors.NotFoundError):
        await nc.jetstream().consumer_info(streams.COMMANDS.name, consumer_name(host_id))
    await nc.close()
    assert "commands.off" in agent.log()


async def test_at_max_concurrent_the_agent_stops_fetching(
    nats_server: NatsServer, host_id: str, agent_factory: Callable[[str], AgentProcess]
) -> None:
    """With max_concurrent = 1 and one command running, the next one stays in the stream
    (no pull request is even open) until the first ends; then it runs."""
    agent = agent_factory('allowlist = ["sleep *", "echo *"]\nmax_concurrent = 1\n')
    await agent.start()
    slow = new_command(host_id, "sleep 60", timeout_seconds=120)
    await dispatch(nats_server.url, slow)

    async def running() -> bool:
        return any(e.status for e in await reported(nats_server.url, host_id, slow.id))

    await wait_until(running, timeout=RESULT_WITHIN, what="the first command to be running")
    quick = new_command(host_id, "echo next")
    await dispatch(nats_server.url, quick)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()

    async def held_back() -> bool:
        info = await js.consumer_info(streams.COMMANDS.name, consumer_name(host_id))
        return info.num_pending == 1 and info.num_waiting == 0

    await wait_until(held_back, timeout=10, what="the second command to wait in the stream")
    assert await reported(nats_server.url, host_id, quick.id) == []
    cancel = CommandCancel(command_id=slow.id)
    await nc.request(subjects.commands_cancel(host_id), codec.encode(cancel), timeout=5)
    await nc.close()
    result = await result_of(nats_server.url, host_id, quick.id, within=RESULT_WITHIN)
    assert result.state == CommandState.SUCCEEDED, agent.log()
    first = await result_of(nats_server.url, host_id, slow.id, within=RESULT_WITHIN)
    assert first.state == CommandState.CANCELLED
    assert first.finished_at <= (result.started_at or result.finished_at)
