"""Wiring of the alerts service: streams, migrations, the API on every replica, and the
evaluation on the one replica holding the leadership."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from mirror_alerts.app import create_app
from mirror_alerts.config import AlertsConfig
from mirror_alerts.endpoints import nats_door
from mirror_alerts.evaluation.engine import AlertsEngine
from mirror_alerts.evaluation.leader import Leadership
from mirror_alerts.migrations import migrate
from mirror_alerts.operations import AlertsApi
from mirror_alerts.previewing import Previewer
from mirror_alerts.publisher import EventPublisher
from mirror_runtime import serve
from mirror_runtime.health import Dependencies
from mirror_runtime.service_streams import ensure_service_streams

__all__ = ["main"]

log = structlog.get_logger()


def main(config: AlertsConfig) -> int:
    """Run the alerts service until SIGTERM; the exit code."""

    async def start(deps: Dependencies) -> serve.Started:
        if deps.pool is None or config.service.db_url is None:
            raise serve.StartupError(
                "the alerts service keeps rules and alerts in PostgreSQL: set MIRROR_STAGE_DB_URL"
            )
        await ensure_service_streams(deps.nc.jetstream())
        applied = await migrate(deps.pool)
        log.info("alerts.migrated", applied=applied)
        publisher = EventPublisher(deps.nc.jetstream())
        api = AlertsApi(deps.pool, publisher, receivers=config.receivers.receivers)
        engine = AlertsEngine(deps.nc, deps.pool, config, publisher)
        previewer = Previewer(deps.nc, engine)
        leadership = Leadership(deps.nc.jetstream())
        # The preview's subscription is the leader's: it is open while the engine leads.
        leading = asyncio.create_task(leadership.run(previewer.lead), name="alerts-leadership")
        endpoints = nats_door(deps.nc, api)
        await endpoints.start()

        async def details() -> dict[str, int | float | str]:
            return {
                "role": "leader" if engine.leading else "standby",
                "hosts_known": engine.evaluator.host_count if engine.leading else 0,
                "open_alerts": engine.evaluator.open_count if engine.leading else 0,
                # How many rules the evaluator holds: a rule just created is evaluated once
                # this counts it (it arrives by LISTEN, a moment after the API's answer).
                "rules": len(engine.evaluator.rules) if engine.leading else 0,
                "consumer_lag": engine.lag,
                "position": engine.position,
                "receivers": len(config.receivers.receivers),
            }

        deps.details = details

        async def stop() -> None:
            await endpoints.stop()
            leading.cancel()  # the engine saves its last snapshot as it ends
            with contextlib.suppress(asyncio.CancelledError):
                await leading

        return serve.Started(create_app(deps, api, previewer), stop)

    return serve.main(config.service, start)
