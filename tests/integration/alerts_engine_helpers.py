"""The alerts engine tests' rig: a leading AlertsEngine on real NATS and PostgreSQL, a fake clock.

test_alerts_engine.py's fixtures (`start_rig`, `rig`) are thin wrappers of `rig_starter`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import nats
import nats.js.client
from alerts_helpers import T0, TIMEOUT, EventLog, follow_events, sample_body
from twin_helpers import own_nats_server
from webhook_helpers import WebhookServer

from mirror_alerts.config import AlertsConfig
from mirror_alerts.evaluation.alert_state import OpenAlert
from mirror_alerts.evaluation.engine import AlertsEngine
from mirror_alerts.migrations import migrate
from mirror_alerts.notify.dispatcher import Dispatcher
from mirror_alerts.notify.formats import GenericBody
from mirror_alerts.notify.receivers import Receiver, ReceiversConfig
from mirror_alerts.notify.webhook import RetryPolicy
from mirror_alerts.operations import AlertsApi
from mirror_alerts.publisher import EventPublisher
from mirror_alerts.stores import rule_store
from mirror_runtime.config import ServiceConfig
from mirror_schema import subjects
from mirror_schema.alert_api import WriteRuleRequest
from waiting import wait_until

# Retries in milliseconds; an attempt held by the receiver never times out within a test.
FAST = RetryPolicy(
    timeout_seconds=30.0,
    max_attempts=3,
    base_delay_seconds=0.01,
    max_delay_seconds=0.05,
    max_total_seconds=60.0,
)
OFFLINE_RULE = {
    "kind": "offline",
    "id": "offline-test",
    "name": "Host offline",
    "after_intervals": 3,
}
HOUR = timedelta(hours=1)
decode_generic = msgspec.json.Decoder(GenericBody).decode  # checks the documented format too


class FakeClock:
    """The engine's and the API's ``clock``: stands still until the test advances it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    """A leading engine, its API, its clock, the events it published and its receiver."""

    js: nats.js.client.JetStreamContext
    api: AlertsApi
    engine: AlertsEngine
    task: asyncio.Task[None]
    clock: FakeClock
    events: EventLog
    webhook: WebhookServer

    def running(self) -> bool:
        """True while the engine runs; raises what ended it, so a crash is not a timeout."""
        if self.task.done():
            self.task.result()
            raise AssertionError("the engine stopped leading")
        return True

    async def sample(self, host_id: str, at: datetime, *, cpu: float = 10.0, **fields: Any) -> None:
        """Publish a sample and wait until the engine evaluated it (at the clock's ``now``)."""
        body = msgspec.json.encode(sample_body(host_id, at, cpu=cpu, **fields))
        ack = await self.js.publish(subjects.metrics_raw(host_id), body)
        await wait_until(
            lambda: self.running() and self.engine.position >= ack.seq,
            timeout=TIMEOUT,
            what=f"the engine to evaluate {host_id}'s sample #{ack.seq}",
            interval=0.02,
        )

    def bodies(self, *, host_id: str, kind: str | None = None) -> list[GenericBody]:
        """The generic bodies the /ok receiver got about ``host_id`` (of ``kind``), in order."""
        return [
            body
            for body in (decode_generic(h.body) for h in self.webhook.hits if h.path == "/ok")
            if body.host_id == host_id and (kind is None or body.kind == kind)
        ]

    async def wait_body(self, *, host_id: str, kind: str) -> GenericBody:
        """Wait for the /ok receiver's first ``kind`` body about ``host_id``."""
        await wait_until(
            lambda: self.running() and bool(self.bodies(host_id=host_id, kind=kind)),
            timeout=TIMEOUT,
            what=f"a {kind} notification of {host_id} at the receiver",
        )
        return self.bodies(host_id=host_id, kind=kind)[0]

    def open_alert_of(self, host_id: str) -> OpenAlert:
        """The engine's open alert of ``host_id`` (exactly one)."""
        alerts = [a for a in self.engine.evaluator.open_alerts() if a.host_id == host_id]
        assert len(alerts) == 1, alerts
        return alerts[0]


StartRig = Callable[..., Awaitable[Rig]]


class HeldLease:
    """A lease no other engine contends for: the rig runs one engine alone."""

    def held(self) -> bool:
        return True


@contextlib.asynccontextmanager
async def rig_starter(
    tmp_path: Path, database: str, webhook: WebhookServer, unique: str
) -> AsyncIterator[StartRig]:
    """Start engines leading on their own nats-server and a fresh database with ``rules``
    only (the default rules deleted); cancelled, and everything closed, on leaving."""
    async with contextlib.AsyncExitStack() as stack:
        nats_url = await stack.enter_async_context(own_nats_server(tmp_path / "nats"))
        nc = await nats.connect(nats_url)
        stack.push_async_callback(nc.close)
        pool = await asyncpg.create_pool(database, min_size=1, max_size=4)
        stack.push_async_callback(pool.close)
        await migrate(pool)
        async with pool.acquire() as conn:
            for stored in await rule_store.list_rules(conn):
                await rule_store.delete_rule(conn, stored.rule.id)

        async def start(
            *,
            rules: Sequence[Mapping[str, Any]] = (),
            receivers: Sequence[Receiver] = (),
            repeat_interval: timedelta = HOUR,
        ) -> Rig:
            clock = FakeClock(T0)
            publisher = EventPublisher(nc.jetstream())
            api = AlertsApi(pool, publisher, clock=clock)
            for rule in rules:
                await api.create_rule(WriteRuleRequest(rule=dict(rule)))
            every = [Receiver(name=f"ok-{unique}", url=webhook.url("/ok")), *receivers]
            config = AlertsConfig(
                service=ServiceConfig(name="alerts", http_port=0, db_url=database),
                receivers=ReceiversConfig(receivers=every),
                group_wait=timedelta(0),
                repeat_interval=repeat_interval,
                sweep_seconds=0.05,
                snapshot_seconds=0.2,
            )
            dispatcher = Dispatcher(every, policy=FAST)
            engine = AlertsEngine(nc, pool, config, publisher, clock=clock, dispatcher=dispatcher)
            task = asyncio.create_task(engine.lead(HeldLease()))
            stack.push_async_callback(_cancel, task)
            rig = Rig(
                nc.jetstream(),
                api,
                engine,
                task,
                clock,
                await follow_events(nc.jetstream()),
                webhook,
            )
            await wait_until(
                lambda: rig.running() and engine.leading, timeout=TIMEOUT, what="the engine leading"
            )
            return rig

        yield start


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
