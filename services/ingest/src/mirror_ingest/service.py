"""Wiring of the ingest service: streams, migrations, the history writer, then HTTP."""

import asyncio
from typing import Final

import structlog

from mirror_ingest.app import create_app
from mirror_ingest.config import IngestConfig
from mirror_ingest.endpoints import nats_door
from mirror_ingest.metrics import CONSUMER_LAG
from mirror_ingest.migrations import migrate
from mirror_ingest.writing.writer import HistoryWriter
from mirror_runtime import serve
from mirror_runtime.health import Dependencies
from mirror_runtime.service_streams import ensure_service_streams

log = structlog.get_logger()

# On SIGTERM the writer finishes the batch in hand; past this, the batch is redelivered.
WRITER_STOP_SECONDS = 20.0
HISTORY_ACK_WAIT_SECONDS = 10.0

# Agents post with their own per-host tokens (mirror_ingest.tokens), not operators' logins.
PUBLIC_ROUTES: Final = frozenset({("POST", "/api/metrics/batch")})


def main(config: IngestConfig) -> int:
    """Run the ingest service until SIGTERM; the exit code."""

    async def start(deps: Dependencies) -> serve.Started:
        if deps.pool is None:
            raise serve.StartupError(
                "the ingest stores the metrics history in PostgreSQL: set MIRROR_STAGE_DB_URL"
            )
        await ensure_service_streams(deps.nc.jetstream())
        applied = await migrate(deps.pool)
        log.info("history.migrated", applied=applied)
        writer = HistoryWriter(
            deps.nc,
            deps.pool,
            batch_size=config.history_batch_size,
            retention_days=config.retention_days,
            # A batch is written in well under a second: after a crash, what the dead process
            # had fetched comes back this soon.
            ack_wait=HISTORY_ACK_WAIT_SECONDS,
        )

        async def details() -> dict[str, int | float | str]:
            CONSUMER_LAG.set(writer.lag())
            return {"history_consumer_lag": writer.lag()}

        deps.details = details
        endpoint = nats_door(deps.nc, deps.pool)
        await endpoint.start()
        stop = asyncio.Event()
        running = asyncio.create_task(writer.run(stop))

        async def stop_writer() -> None:
            await endpoint.stop()
            stop.set()
            try:
                async with asyncio.timeout(WRITER_STOP_SECONDS):
                    await running
            except TimeoutError:
                running.cancel()
                log.warning("history.stop_timed_out")

        return serve.Started(create_app(deps, config), stop_writer)

    return serve.main(config.service, start, public=PUBLIC_ROUTES)
