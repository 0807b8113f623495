"""Faults a real fleet sees, against `mirror-stage up` under load, each ending with an exact
count: every service killed with SIGKILL in turn, PostgreSQL frozen for 20 s, nats-server
frozen then killed. Loopback only, a fixed number of samples, bounded waits.

One stack serves the module (a start costs more than most faults): each fault loads hosts and
an alert rule of its own, so that its counts are its own, and each starts once every part of
the stack answers again."""

import asyncio
import signal
import time

import nats.errors
import nats.js.errors
import psutil
import pytest
from fault_load import HOSTS, SAMPLES_PER_HOST, Fleet, Load
from fault_stage import LOCAL_HOST, SERVICES, Faulty
from stack_faults import postgres_processes
from stack_up import service_process

from mirror_schema import codec, streams, subjects
from waiting import wait_until

FROZEN_SECONDS = 20.0  # PostgreSQL's outage

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_each_service_killed_in_turn_loses_nothing_and_repeats_nothing(
    faulty: Faulty,
) -> None:
    fleet = Fleet("killed")
    await faulty.add_spike_rule(fleet)
    load = Load(faulty.nc.jetstream(), fleet)
    publishing = asyncio.create_task(load.run())
    commands = [await faulty.commands.send(LOCAL_HOST, "uptime")]
    for service in SERVICES:
        victim = service_process(faulty.stack, service)
        victim.send_signal(signal.SIGKILL)
        await faulty.restarted(service, victim.pid)
        commands.append(await faulty.commands.send(LOCAL_HOST, "uptime"))
    await publishing
    assert sum(load.published.values()) == SAMPLES_PER_HOST * (HOSTS + 1)
    await faulty.expect_rows(load.published)

    for command_id in commands:

        async def done(command_id: str = command_id) -> bool:
            answer = await faulty.http.get(f"{faulty.url('commands')}/api/commands/{command_id}")
            return answer.status_code == 200 and answer.json()["status"] == "succeeded"

        await wait_until(done, timeout=60, what=f"command {command_id} to succeed")
    agent_log = (faulty.data_dir / "logs" / "agent.log").read_text()
    for command_id in commands:
        assert agent_log.count(f"command.accepted command_id={command_id}") == 1

    await faulty.fired_once(fleet)  # through the alerts service's own death


async def test_postgres_frozen_for_20_seconds_loses_nothing_and_the_twin_keeps_going(
    faulty: Faulty,
) -> None:
    postgres = postgres_processes(faulty.stack)
    assert postgres, "no PostgreSQL process under the launcher"
    fleet = Fleet("frozen")
    await faulty.add_spike_rule(fleet)
    load = Load(faulty.nc.jetstream(), fleet)
    twin = f"{faulty.url('twin')}/api/twin/state"
    # An operator at the HUD: the twin has confirmed their session before the outage.
    assert (await faulty.http.get(twin)).status_code == 200
    frozen_at = time.monotonic()
    for process in postgres:
        process.send_signal(signal.SIGSTOP)
    try:
        await load.run()  # the whole load while the database answers nothing

        async def in_the_twin() -> bool:
            answer = await faulty.http.get(twin)
            assert answer.status_code == 200, answer.text
            return {h["host_id"] for h in answer.json()["hosts"]} >= {*fleet.hosts, fleet.hot}

        await wait_until(in_the_twin, timeout=30, what="the load in the twin, database frozen")
        assert all(p.status() == psutil.STATUS_STOPPED for p in postgres if p.is_running())
        # The fault's length: 20 s without a database, whatever the load took.
        await asyncio.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - frozen_at)))
    finally:
        for process in postgres:
            process.send_signal(signal.SIGCONT)
    await faulty.expect_rows(load.published)
    await faulty.fired_once(fleet)  # the spike during the outage: found, once


async def test_nats_frozen_then_killed_agents_buffer_and_replay_every_sample(
    faulty: Faulty,
) -> None:
    nats_server = next(p for p in faulty.stack.descendants() if p.name() == "nats-server")
    before = await _agent_seqs(faulty)
    nats_server.send_signal(signal.SIGSTOP)  # unreachable: agents buffer to disk
    await asyncio.sleep(12)  # the fault's length: more than two of the agent's intervals
    nats_server.send_signal(signal.SIGKILL)  # and gone: the launcher starts it again

    async def replayed() -> bool:
        seqs = await _agent_seqs(faulty)
        return len(seqs) >= len(before) + 3

    await wait_until(replayed, timeout=60, what="the local agent's buffered samples")
    seqs = sorted(await _agent_seqs(faulty))
    assert seqs == list(range(seqs[0], seqs[-1] + 1))  # not one missing


async def _agent_seqs(faulty: Faulty) -> set[int]:
    """The local agent's sample numbers in METRICS (its one boot)."""
    js = faulty.nc.jetstream()
    subject = subjects.metrics_raw(LOCAL_HOST)
    try:
        info = await js.stream_info(streams.METRICS.name, subjects_filter=subject)
    except (nats.errors.Error, nats.js.errors.Error):
        return set()
    expected = (info.state.subjects or {}).get(subject, 0)
    subscription = await js.subscribe(subject, ordered_consumer=True)
    seqs: set[int] = set()
    try:
        for _ in range(expected):
            msg = await subscription.next_msg(timeout=10)
            seqs.add(codec.decode_sample(msg.data).seq or 0)
    finally:
        await subscription.unsubscribe()
    return seqs
