"""Something dies while work is in flight, against `mirror-stage up`: nats-server killed with
SIGKILL under load (not frozen: its connections drop, acknowledged samples may still sit in
its write buffer), and a command running on the field agent (field_agent.py) when the
commands service, the agent itself or nats-server is killed. Each ends with exact counts:
every acknowledged sample stored once, each command executed once, its audit final and whole.

Loopback only, a fixed number of samples, bounded waits."""

import asyncio
from collections import Counter

import psutil
import pytest
from fault_load import SAMPLES_PER_HOST, Fleet, ShippedLoad
from fault_stage import FIELD_HOST, Faulty
from stack_faults import kill_nats_server, restarted
from stack_up import admin, service_process

from waiting import wait_until

WHOLE_AUDIT = ["created", "dispatched", "running", "succeeded"]
# The agent's own words for a command its death cut short (mirror_agent.commands.dispatches).
RESTARTED = "agent restarted during execution"

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]


async def test_nats_killed_under_load_keeps_every_acknowledged_sample_once(
    faulty: Faulty,
) -> None:
    fleet = Fleet("nats-killed")
    load = ShippedLoad(faulty.stack.env["MIRROR_STAGE_NATS_URL"], admin(faulty.data_dir), fleet)
    shipping = asyncio.create_task(load.run())
    await wait_until(lambda: load.acknowledged >= 150, timeout=30, what="the load under way")
    killed_at = load.acknowledged
    server = kill_nats_server(faulty.stack)
    await restarted(faulty.stack, "nats", server)
    await shipping

    assert 150 <= killed_at < load.submitted  # killed in full flow
    assert load.refused == 0
    assert load.acknowledged == load.submitted == SAMPLES_PER_HOST * len(fleet.every_host)
    for host in fleet.every_host:
        assert await faulty.held(host) == SAMPLES_PER_HOST, host  # none lost, none twice
    await faulty.expect_rows(load.published)


async def _command_running(faulty: Faulty, tag: str) -> str:
    command = await faulty.commands.send(FIELD_HOST, faulty.agent.sleeper(tag))
    await faulty.commands.wait_status(command, "running")
    return command


async def _ran_once_and_whole(faulty: Faulty, command: str, tag: str) -> None:
    assert await faulty.commands.wait_final(command) == "succeeded"
    assert await faulty.commands.audit(command) == WHOLE_AUDIT
    assert faulty.agent.accepted(command) == 1
    assert faulty.agent.executions(tag) == Counter(start=1, done=1)


async def test_commands_service_killed_while_a_command_runs_it_ends_once_and_audited(
    faulty: Faulty,
) -> None:
    command = await _command_running(faulty, "commands-killed")
    victim = service_process(faulty.stack, "commands")
    victim.kill()
    await faulty.restarted("commands", victim.pid)
    await _ran_once_and_whole(faulty, command, "commands-killed")


async def test_nats_killed_while_a_command_runs_it_ends_once_and_audited(
    faulty: Faulty,
) -> None:
    command = await _command_running(faulty, "nats-killed")
    server = kill_nats_server(faulty.stack)
    await restarted(faulty.stack, "nats", server)
    await _ran_once_and_whole(faulty, command, "nats-killed")


async def test_agent_killed_while_a_command_runs_it_is_stopped_and_reported_failed(
    faulty: Faulty,
) -> None:
    command = await _command_running(faulty, "agent-killed")
    await faulty.agent.kill()
    # Its reaper ends the command's process group: nothing of it runs on.
    await wait_until(
        lambda: not _running_sleeper("agent-killed"),
        timeout=10,
        what="the command's processes to end with the agent",
    )
    await faulty.agent.start(faulty.stack)  # as its systemd unit would

    assert await faulty.commands.wait_final(command) == "failed"
    record = await faulty.commands.record(command)
    assert record is not None
    assert record["error"] == RESTARTED
    assert await faulty.commands.audit(command) == ["created", "dispatched", "running", "failed"]
    assert faulty.agent.accepted(command) == 1  # never started again
    assert faulty.agent.executions("agent-killed") == Counter(start=1)
    # The agent takes new commands after its restart.
    after = await _command_running(faulty, "after-restart")
    await _ran_once_and_whole(faulty, after, "after-restart")


def _running_sleeper(tag: str) -> bool:
    """Whether a process of sleeper `tag` still runs (its shell's command line names it)."""
    marker = f"start:{tag}"
    for process in psutil.process_iter():
        try:
            if any(marker in part for part in process.cmdline()):
                return True
        except psutil.Error:
            continue
    return False
