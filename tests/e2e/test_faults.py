"""Faults a real fleet sees, against `mirror-stage up` under load, each ending with an exact
count: every service killed with SIGKILL in turn, PostgreSQL frozen for 20 s, nats-server
frozen then killed. Loopback only, a fixed number of samples, bounded waits.

One stack serves the module (a start costs more than most faults): each fault loads hosts and
an alert rule of its own, so that its counts are its own, and each starts once every part of
the stack answers again."""

import asyncio
import re
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import msgspec
import nats
import nats.errors
import nats.js.errors
import psutil
import pytest
import pytest_asyncio
from logins import replace_one_time_password
from stack_up import (
    RunningStack,
    admin,
    bus_violations,
    mirror_stage_up,
    service_process,
)

from mirror_schema import codec, hosts, streams, subjects
from mirror_schema.alerts import AlertEvent
from mirror_stage.operators import database_url_path
from mirror_stage.stack_layout import stack_layout
from shared_databases import remove_shared_database
from waiting import wait_until

HOSTS = 4  # loaded hosts of one fault, and one more always at 99 % CPU
SAMPLES_PER_HOST = 100
PACE_SECONDS = 0.02  # between two samples: 5 hosts x 100 samples in about 10 s
PUBLISH_ATTEMPTS = 80  # 0.25 s apart: outlives a restart of any part
LOCAL_HOST = hosts.host_id_from_hostname(socket.gethostname())
FROZEN_SECONDS = 20.0  # PostgreSQL's outage
SERVICES = ("ingest", "alerts", "commands", "twin")

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Fleet:
    """The hosts a fault loads, named after it: `hosts` and `hot`, always at 99 % CPU, whose
    alert (rule `rule`) must fire exactly once."""

    name: str

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(f"{self.name}-{n}" for n in range(HOSTS))

    @property
    def hot(self) -> str:
        return f"{self.name}-hot"

    @property
    def rule(self) -> str:
        return f"{self.name}-spike"


@dataclass
class Load:
    """Samples published for a fleet's hosts, each retried until acknowledged."""

    js: nats.js.JetStreamContext
    fleet: Fleet
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(minutes=10))
    published: Counter[str] = field(default_factory=Counter)

    async def publish(self, host: str, seq: int) -> None:
        body = msgspec.json.encode(
            {
                "hostname": host,
                "host_id": host,
                "boot_id": "faults",
                "seq": seq,
                "interval_seconds": 1.0,
                "timestamp": (self.start + timedelta(seconds=seq)).isoformat(),
                "cpu_load": 99.0 if host == self.fleet.hot else float(seq % 60),
                "memory_used_percent": 30.0,
            }
        )
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                await self.js.publish(
                    subjects.metrics_raw(host),
                    body,
                    headers={"Nats-Msg-Id": f"{host}:faults:{seq}"},
                    timeout=2,
                )
                self.published[host] += 1
                return
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
                await asyncio.sleep(0.25)
        raise AssertionError(f"{host} sample {seq} was never acknowledged")

    async def run(self) -> None:
        for seq in range(1, SAMPLES_PER_HOST + 1):
            for host in (*self.fleet.hosts, self.fleet.hot):
                await self.publish(host, seq)
            await asyncio.sleep(PACE_SECONDS)


@dataclass
class Faulty:
    """The stack under test: the bus as admin, HTTP as its first admin, the database."""

    stack: RunningStack
    data_dir: Path
    nc: nats.aio.client.Client
    http: httpx.AsyncClient
    database_url: str

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.stack.port(service)}"

    async def rows(self, host: str) -> int:
        connection = await asyncpg.connect(self.database_url)
        try:
            count = await connection.fetchval(
                "SELECT count(*) FROM metric_samples WHERE host_id = $1", host
            )
        finally:
            await connection.close()
        return int(count)

    async def expect_rows(self, load: Load) -> None:
        """The history holds exactly what was acknowledged: none missing, none twice."""
        for host, published in load.published.items():

            async def written(host: str = host, published: int = published) -> bool:
                return await self.rows(host) >= published

            await wait_until(written, timeout=90, what=f"{host}'s {published} rows")
            assert await self.rows(host) == published, host

    async def alert_events(self, host: str) -> list[AlertEvent]:
        """ALERTS events of `host`, read from the stream's start."""
        js = self.nc.jetstream()
        subject = subjects.alerts_events(host)
        info = await js.stream_info(streams.ALERTS.name, subjects_filter=subject)
        expected = (info.state.subjects or {}).get(subject, 0)
        subscription = await js.subscribe(subject, ordered_consumer=True)
        events = []
        try:
            for _ in range(expected):
                msg = await subscription.next_msg(timeout=10)
                events.append(codec.decode_alert_event(msg.data))
        finally:
            await subscription.unsubscribe()
        return events

    async def add_spike_rule(self, fleet: Fleet) -> None:
        """An alert for the fleet's hot host (always at 99 % CPU), firing at once."""
        rule = await self.http.post(
            f"{self.url('alerts')}/api/alerts/rules",
            json={
                "kind": "threshold",
                "id": fleet.rule,
                "name": "CPU pinned",
                "metric": "cpu_load",
                "operator": ">",
                "threshold": 95.0,
                "severity": "critical",
                "scope": {"host_ids": [fleet.hot]},
            },
        )
        assert rule.status_code == 201, rule.text

    async def spike_states(self, fleet: Fleet) -> list[str]:
        """The states the hot host's alert went through, in order."""
        events = await self.alert_events(fleet.hot)
        return [e.state for e in events if e.rule_id == fleet.rule]

    async def fired_once(self, fleet: Fleet) -> None:
        async def fired() -> bool:
            return "firing" in await self.spike_states(fleet)

        await wait_until(fired, timeout=60, what=f"{fleet.hot}'s alert")
        assert await self.spike_states(fleet) == ["firing"]

    async def send_uptime(self) -> str:
        """POST uptime for the local agent; retried while the commands service restarts."""
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                answer = await self.http.post(
                    f"{self.url('commands')}/api/commands",
                    json={"hostname": LOCAL_HOST, "command": "uptime"},
                )
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 201:
                return str(answer.json()["commands"][0]["id"])
            await asyncio.sleep(0.25)
        raise AssertionError("the commands service never took uptime")

    async def restarted(self, service: str, before: int) -> None:
        async def back() -> bool:
            try:
                process = service_process(self.stack, service)
            except AssertionError:
                return False
            if process.pid == before:
                return False
            try:
                answer = await self.http.get(f"{self.url(service)}/api/health")
            except httpx.HTTPError:
                return False
            return answer.status_code == 200

        await wait_until(back, timeout=60, what=f"the launcher to restart {service}")

    async def all_healthy(self) -> None:
        """Every service answers its health check (after a fault, once the launcher has
        restarted what died), and the bus answers the admin."""

        async def healthy() -> bool:
            for service in SERVICES:
                try:
                    answer = await self.http.get(f"{self.url(service)}/api/health")
                except httpx.HTTPError:
                    return False
                if answer.status_code != 200:
                    return False
            try:
                await self.nc.flush(timeout=2)
            except (nats.errors.Error, TimeoutError):
                return False
            return True

        await wait_until(healthy, timeout=60, what="every part of the stack to answer")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Faulty]:
    """One stack for the module's faults, its first admin logged in on `http`."""
    base = tmp_path_factory.mktemp("faults")
    data_dir = base / "stage"
    try:
        async with mirror_stage_up(data_dir) as stack:
            printed = "\n".join(stack.lines)
            found = re.search(r"first admin: user 'admin', one-time password (\S+)", printed)
            assert found is not None, printed
            layout = stack_layout({}, data_dir=data_dir, log_format="json")
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"],
                nkeys_seed=admin(data_dir),
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
            )
            async with httpx.AsyncClient(timeout=10) as http:
                commands = f"http://127.0.0.1:{stack.port('commands')}"
                # The printed password is one-time: the admin chooses their own first.
                login = await replace_one_time_password(http, commands, "admin", found.group(1))
                http.headers["X-CSRF-Token"] = login.json()["csrf"]
                try:
                    yield Faulty(
                        stack, data_dir, nc, http, database_url_path(layout).read_text().strip()
                    )
                finally:
                    await nc.close()
            assert bus_violations(data_dir) == []
    finally:
        remove_shared_database(data_dir, base)


@pytest_asyncio.fixture(loop_scope="module")
async def faulty(stage: Faulty) -> AsyncIterator[Faulty]:
    """The module's stack, whole again before each fault; no part broke the bus's rules
    after it."""
    await stage.all_healthy()
    yield stage
    assert bus_violations(stage.data_dir) == []


async def test_each_service_killed_in_turn_loses_nothing_and_repeats_nothing(
    faulty: Faulty,
) -> None:
    fleet = Fleet("killed")
    await faulty.add_spike_rule(fleet)
    load = Load(faulty.nc.jetstream(), fleet)
    publishing = asyncio.create_task(load.run())
    commands = [await faulty.send_uptime()]
    for service in SERVICES:
        victim = service_process(faulty.stack, service)
        victim.send_signal(signal.SIGKILL)
        await faulty.restarted(service, victim.pid)
        commands.append(await faulty.send_uptime())
    await publishing
    assert sum(load.published.values()) == SAMPLES_PER_HOST * (HOSTS + 1)
    await faulty.expect_rows(load)

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
    postgres = [p for p in faulty.stack.descendants() if _is_postgres(p)]
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
    await faulty.expect_rows(load)
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


def _is_postgres(process: psutil.Process) -> bool:
    try:
        return process.name() in ("postgres", "postmaster")
    except psutil.NoSuchProcess:
        return False
