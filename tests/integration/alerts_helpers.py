"""The alerts service as deployed for the integration tests: its NATS, PostgreSQL, an HTTP
client, samples with chosen values and timestamps, and the events it publishes."""

import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import nats.aio.client
import nats.js.client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from twin_helpers import own_nats_server

from callers import ADMIN_INBOX
from loopback_ports import free_port
from mirror_schema import codec, subjects
from mirror_schema.alerts import AlertEvent
from mirror_stage.supervisor import PartSpec, Supervised
from servers import service_spec
from waiting import wait_until

TIMEOUT = 20.0
# The service's pace in the tests: sweeps and snapshots often, notifications without waiting.
FAST_ENV: Mapping[str, str] = {
    "MIRROR_STAGE_ALERTS_SWEEP_SECONDS": "0.2",
    "MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS": "0.5",
    "MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS": "0",
}
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def sample_body(host_id: str, at: datetime, *, cpu: float = 10.0, **fields: Any) -> dict[str, Any]:
    """A MetricSample of ``host_id`` taken at ``at`` with ``cpu_load`` = ``cpu``."""
    return {
        "hostname": f"{host_id}.example.com",
        "host_id": host_id,
        "timestamp": at.isoformat(),
        "interval_seconds": 1.0,
        "cpu_load": cpu,
        "memory_used_percent": 20.0,
        **fields,
    }


def cpu_rule(rule_id: str = "cpu-test", **fields: Any) -> dict[str, Any]:
    """A threshold rule on cpu_load > 90 for 60 s, clearing below 80."""
    return {
        "kind": "threshold",
        "id": rule_id,
        "name": "CPU above 90 %",
        "metric": "cpu_load",
        "operator": ">",
        "threshold": 90.0,
        "clear_threshold": 80.0,
        "for_seconds": 60.0,
        "severity": "critical",
        **fields,
    }


@dataclass
class EventLog:
    """Every AlertEvent published on ``alerts.events.>``, in stream order."""

    events: list[AlertEvent] = field(default_factory=list)

    def of(
        self, *, state: str | None = None, host_id: str | None = None, rule_id: str | None = None
    ) -> list[AlertEvent]:
        return [
            e
            for e in self.events
            if (state is None or e.state == state)
            and (host_id is None or e.host_id == host_id)
            and (rule_id is None or e.rule_id == rule_id)
        ]

    async def wait(
        self, count: int, *, state: str, host_id: str | None = None, rule_id: str | None = None
    ) -> list[AlertEvent]:
        """Wait until at least ``count`` events in ``state`` (of ``host_id``, of ``rule_id``)
        were seen; those events."""
        try:
            await wait_until(
                lambda: len(self.of(state=state, host_id=host_id, rule_id=rule_id)) >= count,
                timeout=TIMEOUT,
                what=f"{count} {state} event(s) of {host_id}/{rule_id}",
            )
        except AssertionError as exc:
            seen = [(e.host_id, e.rule_id, e.state) for e in self.events]
            raise AssertionError(f"{exc}; events seen: {seen}") from None
        return self.of(state=state, host_id=host_id, rule_id=rule_id)


async def follow_events(js: nats.js.client.JetStreamContext) -> EventLog:
    """Start recording every event in the ALERTS stream, from its beginning."""
    log = EventLog()

    async def on_event(msg: Msg) -> None:
        log.events.append(codec.decode_alert_event(msg.data))

    await js.subscribe(
        subjects.ALERTS_EVENTS_ALL,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        cb=on_event,
    )
    return log


@dataclass
class AlertsStack:
    """A running alerts service (or several replicas), its NATS and an HTTP client."""

    nats_url: str
    db_url: str
    nc: nats.aio.client.Client
    js: nats.js.client.JetStreamContext
    http: httpx.AsyncClient
    service: Supervised
    events: EventLog
    tmp_path: Path
    env: Mapping[str, str]
    replicas: list[Supervised] = field(default_factory=list)

    async def sample(self, host_id: str, at: datetime, *, cpu: float = 10.0, **fields: Any) -> None:
        """Publish a sample of ``host_id`` as its agent would, acknowledged by the stream."""
        body = msgspec.json.encode(sample_body(host_id, at, cpu=cpu, **fields))
        await self.js.publish(subjects.metrics_raw(host_id), body)

    async def cpu_series(
        self, host_id: str, values: list[float], *, start: datetime = T0, step: float = 30.0
    ) -> datetime:
        """Publish ``values`` as cpu_load, ``step`` seconds apart from ``start``; the last time."""
        at = start
        for index, value in enumerate(values):
            at = start + timedelta(seconds=step * index)
            await self.sample(host_id, at, cpu=value)
        return at

    async def add_rule(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Create a rule and wait until the evaluator holds it (it learns of it by LISTEN, a
        moment after the API's answer: a sample published before that is judged without it)."""
        before = (await self.health())["details"]["rules"]
        answer = await self.http.post("/api/alerts/rules", json=dict(rule))
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()

        async def held() -> bool:
            return bool((await self.health())["details"]["rules"] > before)

        await wait_until(held, timeout=TIMEOUT, what=f"the evaluator holding rule {rule['id']}")
        return created

    async def active(self, host: str | None = None) -> list[dict[str, Any]]:
        params = {"host": host} if host else {}
        answer = await self.http.get("/api/alerts/active", params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def health(self) -> dict[str, Any]:
        answer = await self.http.get("/api/health")
        body: dict[str, Any] = answer.json()
        return body

    async def leading(self) -> None:
        """Wait until the service evaluates (it holds the leadership)."""

        async def leads() -> bool:
            return (await self.health()).get("details", {}).get("role") == "leader"

        await wait_until(leads, timeout=TIMEOUT, what="the alerts service leading")

    async def kill(self) -> None:
        """SIGKILL the service: no last snapshot, no drain."""
        process = self.service.process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()

    async def restart(self) -> None:
        """Start the service again on its port (after kill()), and wait until it leads."""
        self.service = Supervised(self.service.spec)
        await self.service.start()
        await self.leading()

    async def snapshot_position(self) -> int:
        """The METRICS sequence the evaluator's saved snapshot covers (0 before the first)."""
        conn = await asyncpg.connect(self.db_url)
        try:
            position = await conn.fetchval("SELECT max(position) FROM evaluator_snapshot")
        finally:
            await conn.close()
        return int(position or 0)

    async def snapshot_covers(self, sequence: int) -> None:
        """Wait until a saved snapshot covers METRICS up to ``sequence``."""

        async def covered() -> bool:
            return await self.snapshot_position() >= sequence

        await wait_until(covered, timeout=TIMEOUT, what=f"a snapshot covering seq {sequence}")

    def spec(self, name: str = "alerts", port: int | None = None) -> PartSpec:
        return alerts_spec(
            self.tmp_path, self.nats_url, self.db_url, port or free_port(), self.env, name
        )


def alerts_spec(
    tmp_path: Path,
    nats_url: str,
    db_url: str,
    port: int,
    env: Mapping[str, str],
    name: str = "alerts",
) -> PartSpec:
    """``python -m mirror_alerts`` with the tests' pace, logging to ``<name>.log``."""
    spec = service_spec(
        "alerts",
        log_path=tmp_path / f"{name}.log",
        nats_url=nats_url,
        port=port,
        db_url=db_url,
        env=dict(env),
    )
    return spec


class running_alerts:  # noqa: N801 - used as `async with running_alerts(...)`
    """Start NATS and the alerts service; stop both (and any replica started) after."""

    def __init__(self, tmp_path: Path, db_url: str, env: Mapping[str, str]) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.env = env
        self._nats: Any = None
        self._stack: AlertsStack | None = None
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> AlertsStack:
        self._nats = own_nats_server(self.tmp_path / "nats")
        nats_url = await self._nats.__aenter__()
        spec = alerts_spec(self.tmp_path, nats_url, self.db_url, free_port(), self.env)
        service = Supervised(spec)
        await service.start()
        nc = await nats.connect(nats_url, inbox_prefix=ADMIN_INBOX)
        js = nc.jetstream()
        self._http = httpx.AsyncClient(base_url=spec.address, timeout=10)
        self._stack = AlertsStack(
            nats_url=nats_url,
            db_url=self.db_url,
            nc=nc,
            js=js,
            http=self._http,
            service=service,
            events=await follow_events(js),
            tmp_path=self.tmp_path,
            env=self.env,
        )
        await self._stack.leading()
        return self._stack

    async def __aexit__(self, *exc: object) -> None:
        stack = self._stack
        try:
            if stack is not None:
                await stack.nc.close()
                for replica in stack.replicas:
                    await replica.stop()
                await stack.service.stop()
            if self._http is not None:
                await self._http.aclose()
        finally:
            await self._nats.__aexit__(*exc)
