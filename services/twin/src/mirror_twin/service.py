"""Wiring of the twin service: streams, the engine, then HTTP and WebSocket."""

from fastapi import FastAPI

from mirror_runtime import serve
from mirror_runtime.health import Dependencies
from mirror_schema import streams
from mirror_twin.app import create_app
from mirror_twin.config import TwinConfig
from mirror_twin.engine import TwinEngine


def main(config: TwinConfig) -> int:
    """Run the twin service until SIGTERM; the exit code."""
    engines: list[TwinEngine] = []

    async def start(deps: Dependencies) -> serve.Stopper:
        await streams.ensure_streams(deps.nc.jetstream(), update=False)
        engine = TwinEngine(deps.nc, config)
        await engine.start()
        engines.append(engine)

        async def details() -> dict[str, int | float | str]:
            return {
                "hosts": len(engine.state.host_ids()),
                "clients": len(engine.broadcaster.clients),
            }

        deps.details = details
        return engine.stop

    def app(deps: Dependencies) -> FastAPI:
        return create_app(deps, engines[0])

    return serve.main(config.service, app, start)
