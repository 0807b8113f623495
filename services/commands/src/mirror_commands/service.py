"""Wiring of the commands service: streams, migrations, directory, consumers, requests, HTTP."""

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Final

import structlog

from mirror_commands import signing_key
from mirror_commands.app import create_app
from mirror_commands.config import CommandsConfig
from mirror_commands.directory import HostDirectory
from mirror_commands.endpoints import nats_door
from mirror_commands.follower import MetricsFollower
from mirror_commands.migrations import has_trigram_index, migrate
from mirror_commands.operations import CommandsApi
from mirror_commands.results import ResultsConsumer
from mirror_runtime import serve
from mirror_runtime.health import Dependencies
from mirror_runtime.periodic import every
from mirror_runtime.service_streams import ensure_service_streams

log = structlog.get_logger()

# At start-up, how long the directory may take to read every host's latest sample before
# requests are served anyway (a target not read yet is then "unknown" for a moment).
CATCH_UP_SECONDS: Final = 30.0

# The public half of the signing key, for enrolling agents: nothing secret.
PUBLIC_ROUTES: Final = frozenset({("GET", "/api/commands/signing-key")})


def main(config: CommandsConfig) -> int:
    """Run the commands service until SIGTERM; the exit code."""

    async def start(deps: Dependencies) -> serve.Started:
        if deps.pool is None:
            raise serve.StartupError(
                "the commands service keeps commands and their history in PostgreSQL: "
                "set MIRROR_STAGE_DB_URL"
            )
        await ensure_service_streams(deps.nc.jetstream())
        applied = await migrate(deps.pool)
        trigram = await has_trigram_index(deps.pool)
        log.info("commands.migrated", applied=applied, search="pg_trgm" if trigram else "ilike")
        async with deps.pool.acquire() as conn:
            key = await signing_key.load_or_create(conn, datetime.now(UTC))
        log.info("commands.signing", public_key=key.public_key)
        directory = HostDirectory()
        api = CommandsApi(deps.pool, deps.nc, directory, config, key)
        await api.sweep()  # expire what is overdue, learn which hosts have pending commands
        follower = MetricsFollower(deps.nc, directory, api.on_host_seen)
        await follower.start(CATCH_UP_SECONDS)
        results = ResultsConsumer(deps.nc, deps.pool)
        await results.start()
        endpoints = nats_door(deps.nc, api)
        await endpoints.start()
        sweeper = asyncio.create_task(every(config.sweep_seconds, api.sweep))

        async def details() -> dict[str, int | float | str]:
            return {
                "hosts_known": len(directory),
                "hosts_with_pending": len(api.pending_hosts),
                "results_consumer_lag": results.lag,
                "search": "pg_trgm" if trigram else "ilike",
            }

        deps.details = details

        async def stop() -> None:
            await endpoints.stop()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await follower.stop()
            await results.stop()
            await api.stop()

        return serve.Started(create_app(deps, api), stop)

    return serve.main(config.service, start, public=PUBLIC_ROUTES)
