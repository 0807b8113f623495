"""The stack the fault tests break: `mirror-stage up` with its first admin logged in, the bus
as admin, the database, and a field agent (field_agent.py); what they count after a fault.

One stack serves a module (a start costs more than most faults): each fault loads hosts and
an alert rule of its own (fault_load.Fleet), so that its counts are its own."""

import re
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats
import nats.errors
import nats.js.errors
from cluster_parts import addresses
from fault_load import Fleet
from field_agent import CommandsApi, FieldAgent, enrolled_agent
from logins import replace_one_time_password
from stack_up import RunningStack, admin, mirror_stage_up, service_process

from mirror_schema import codec, hosts, streams, subjects
from mirror_schema.alerts import AlertEvent
from mirror_stage.operators import database_url_path
from mirror_stage.stack_layout import stack_layout
from shared_databases import remove_shared_database
from waiting import wait_until

LOCAL_HOST = hosts.host_id_from_hostname(socket.gethostname())
SERVICES = ("ingest", "alerts", "commands", "twin")
FIELD_HOST = "field-1"


@dataclass
class Faulty:
    """The stack under test: the bus as admin, HTTP as its first admin, the database."""

    stack: RunningStack
    data_dir: Path
    nc: nats.aio.client.Client
    http: httpx.AsyncClient
    database_url: str
    agent: FieldAgent

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.stack.port(service)}"

    @property
    def commands(self) -> CommandsApi:
        return CommandsApi(self.http, self.url("commands"))

    async def rows(self, host: str) -> int:
        """The host's rows in the history; a (host, time) is its primary key, so a sample
        written twice is one row."""
        connection = await asyncpg.connect(self.database_url)
        try:
            count = await connection.fetchval(
                "SELECT count(*) FROM metric_samples WHERE host_id = $1", host
            )
        finally:
            await connection.close()
        return int(count)

    async def expect_rows(self, published: Counter[str]) -> None:
        """The history holds exactly what was acknowledged: none missing, none twice."""
        for host, count in published.items():

            async def written(host: str = host, count: int = count) -> bool:
                return await self.rows(host) >= count

            await wait_until(written, timeout=90, what=f"{host}'s {count} rows")
            assert await self.rows(host) == count, host

    async def held(self, host: str) -> int:
        """The samples of `host` METRICS holds: one per acknowledged sample, unless one
        was lost (fewer) or stored twice (more)."""
        subject = subjects.metrics_raw(host)
        info = await self.nc.jetstream().stream_info(streams.METRICS.name, subjects_filter=subject)
        return int((info.state.subjects or {}).get(subject, 0))

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

    async def add_spike_rule(self, fleet: Fleet, for_seconds: float = 0.0) -> None:
        """An alert for the fleet's hot host (always at 99 % CPU), firing once it has held
        `for_seconds` of the samples' time (at once by default). Returns once the evaluating
        replica holds it (it learns of it by LISTEN, a moment after the API's answer: a fault
        that takes the database away before that would keep it from the evaluator)."""
        before = await self._held_rules()
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
                "for_seconds": for_seconds,
                "scope": {"host_ids": [fleet.hot]},
            },
        )
        assert rule.status_code == 201, rule.text

        async def held() -> bool:
            return (await self._evaluated_rules() or 0) > before

        await wait_until(held, timeout=30, what=f"the alerts leader holding {fleet.rule}")

    async def _held_rules(self) -> int:
        async def leading() -> bool:
            return await self._evaluated_rules() is not None

        await wait_until(leading, timeout=30, what="an alerts replica leading")
        return await self._evaluated_rules() or 0

    async def _evaluated_rules(self) -> int | None:
        """How many rules the evaluating alerts replica holds; None while none says it leads."""
        for name, address in addresses(self.stack).items():
            if name.split("-")[0] != "alerts":
                continue
            try:
                details = (await self.http.get(f"{address}/api/health")).json().get("details", {})
            except (httpx.HTTPError, ValueError):
                continue
            if details.get("role") == "leader":
                return int(details.get("rules", 0))
        return None

    async def spike_states(self, fleet: Fleet) -> list[str]:
        """The states the hot host's alert went through, in order."""
        events = await self.alert_events(fleet.hot)
        return [e.state for e in events if e.rule_id == fleet.rule]

    async def fired_once(self, fleet: Fleet) -> None:
        async def fired() -> bool:
            return "firing" in await self.spike_states(fleet)

        await wait_until(fired, timeout=60, what=f"{fleet.hot}'s alert")
        assert await self.spike_states(fleet) == ["firing"]

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

    async def healthy(self) -> bool:
        """Every service's health check says ok, and the bus answers the admin."""
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

    async def all_healthy(self) -> None:
        """Until every part of the stack answers (after a fault, once the launcher has
        restarted what died) and the field agent is online for commands."""
        await wait_until(self.healthy, timeout=90, what="every part of the stack to answer")

        async def agent_online() -> bool:
            try:
                return await self.held(self.agent.host_id) > 0
            except (nats.errors.Error, nats.js.errors.Error):
                return False

        await wait_until(agent_online, timeout=60, what="the field agent's first sample")


async def _quiet(exc: Exception) -> None:
    pass


@asynccontextmanager
async def fault_stack(base: Path, *flags: str) -> AsyncIterator[Faulty]:
    """`mirror-stage up FLAGS` in `base`, its first admin logged in on `http`, a field agent
    enrolled and running."""
    data_dir = base / "stage"
    try:
        async with mirror_stage_up(data_dir, *flags) as stack:
            printed = "\n".join(stack.lines)
            found = re.search(r"first admin: user 'admin', one-time password (\S+)", printed)
            assert found is not None, printed
            layout = stack_layout({}, data_dir=data_dir, log_format="json")
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"],
                nkeys_seed=admin(data_dir),
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                error_cb=_quiet,  # a killed nats-server is the point, not news
            )
            agent = await enrolled_agent(stack, data_dir, FIELD_HOST)
            async with httpx.AsyncClient(timeout=10) as http:
                commands = f"http://127.0.0.1:{stack.port('commands')}"
                # The printed password is one-time: the admin chooses their own first.
                login = await replace_one_time_password(http, commands, "admin", found.group(1))
                http.headers["X-CSRF-Token"] = login.json()["csrf"]
                try:
                    yield Faulty(
                        stack,
                        data_dir,
                        nc,
                        http,
                        database_url_path(layout).read_text().strip(),
                        agent,
                    )
                finally:
                    await agent.stop()
                    await nc.close()
    finally:
        remove_shared_database(data_dir, base)
