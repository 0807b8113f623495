"""PostgreSQL really gone under load, against `mirror-stage up`: its postmaster killed with
SIGKILL (the launcher restarts it), and stopped cleanly and kept down (stack_faults.py). Its
connections close, so every service's reconnect path runs. Each fault ends with exact counts:
the history holds every acknowledged sample once, the command that was running when the
database went ran once and its audit is whole, no service died, the alert fired once; an
alert whose host turns hot while the database is down fires then, and is stored once after.

Loopback only, a fixed number of samples, bounded waits."""

import asyncio
import time
from collections import Counter

import pytest
from fault_load import Fleet, Load
from fault_stage import FIELD_HOST, SERVICES, Faulty
from stack_faults import (
    answers,
    kill_postmaster,
    postgres_stopped,
    replaced,
    restarted,
    service_pids,
)

from waiting import wait_until

STOPPED_SECONDS = 10.0  # the clean stop's length (bench/bench_faults.py: 60 s)
WHOLE_AUDIT = ["created", "dispatched", "running", "succeeded"]

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]


async def _command_running(faulty: Faulty, tag: str) -> str:
    """A sleeper on the field agent, running (the audit says so); its id."""
    command = await faulty.commands.send(FIELD_HOST, faulty.agent.sleeper(tag))
    await faulty.commands.wait_status(command, "running")
    return command


async def _ran_once_and_whole(faulty: Faulty, command: str, tag: str) -> None:
    assert await faulty.commands.wait_final(command) == "succeeded"
    assert await faulty.commands.audit(command) == WHOLE_AUDIT
    assert faulty.agent.accepted(command) == 1
    assert faulty.agent.executions(tag) == Counter(start=1, done=1)


async def _load_under_way(load: Load) -> asyncio.Task[None]:
    publishing = asyncio.create_task(load.run())
    await wait_until(
        lambda: sum(load.published.values()) >= 100, timeout=30, what="the load under way"
    )
    return publishing


async def test_postgres_killed_every_service_reconnects_and_nothing_is_lost_or_repeated(
    faulty: Faulty,
) -> None:
    fleet = Fleet("pg-killed")
    await faulty.add_spike_rule(fleet)
    services = service_pids(faulty.stack, SERVICES)
    command = await _command_running(faulty, "pg-killed")
    load = Load(faulty.nc.jetstream(), fleet)
    publishing = await _load_under_way(load)

    postmaster = kill_postmaster(faulty.stack)
    await restarted(faulty.stack, "postgres", postmaster)
    await publishing
    await faulty.all_healthy()

    assert replaced(services, service_pids(faulty.stack, SERVICES)) == []  # reconnected
    await faulty.expect_rows(load.published)
    await _ran_once_and_whole(faulty, command, "pg-killed")
    await faulty.fired_once(fleet)


async def test_postgres_stopped_and_kept_down_every_service_reconnects_when_it_is_back(
    faulty: Faulty,
) -> None:
    fleet = Fleet("pg-stopped")
    await faulty.add_spike_rule(fleet)
    late = Fleet("pg-stopped-late", size=0)  # a host that turns hot during the outage
    await faulty.add_spike_rule(late)
    services = service_pids(faulty.stack, SERVICES)
    command = await _command_running(faulty, "pg-stopped")
    load = Load(faulty.nc.jetstream(), fleet)
    publishing = await _load_under_way(load)

    async with postgres_stopped(faulty.stack) as postmaster:
        down_at = time.monotonic()
        # Alerts go on without the database: the late host's alert fires now, not after.
        await Load(faulty.nc.jetstream(), late).publish(late.hot, 1)
        await wait_until(
            lambda: _fired(faulty, late), timeout=30, what="an alert while PostgreSQL is down"
        )
        assert not answers(faulty.stack.postgres_port)
        # Asked meanwhile: a clear refusal, not an error, and nothing stored.
        refused = await faulty.http.post(
            f"{faulty.url('commands')}/api/commands",
            json={"hostname": FIELD_HOST, "command": "uptime"},
        )
        assert refused.status_code == 503, refused.text
        assert "try again" in refused.text
        await publishing  # the rest of the load while the database is down
        # The command ends while the database is down: its result waits for it.
        await wait_until(
            lambda: faulty.agent.executions("pg-stopped")["done"] == 1,
            timeout=30,
            what="the sleeper to end",
        )
        await asyncio.sleep(max(0.0, STOPPED_SECONDS - (time.monotonic() - down_at)))
    await restarted(faulty.stack, "postgres", postmaster)
    await faulty.all_healthy()

    assert replaced(services, service_pids(faulty.stack, SERVICES)) == []  # reconnected
    await faulty.expect_rows(load.published)
    await _ran_once_and_whole(faulty, command, "pg-stopped")
    await faulty.fired_once(fleet)
    await faulty.fired_once(late)
    # Stored once the database is back, once.
    stored = await faulty.http.get(f"{faulty.url('alerts')}/api/alerts", params={"host": late.hot})
    spikes = [a["state"] for a in stored.json()["items"] if a["rule_id"] == late.rule]
    assert spikes == ["firing"], stored.text


async def _fired(faulty: Faulty, fleet: Fleet) -> bool:
    return "firing" in await faulty.spike_states(fleet)
