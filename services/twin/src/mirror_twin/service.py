"""Wiring of the twin service: streams, the engine, then HTTP and WebSocket."""

from mirror_runtime import serve
from mirror_runtime.health import Dependencies
from mirror_runtime.service_streams import ensure_service_streams
from mirror_twin.app import create_app
from mirror_twin.config import TwinConfig
from mirror_twin.engine import TwinEngine


def main(config: TwinConfig) -> int:
    """Run the twin service until SIGTERM; the exit code."""

    async def start(deps: Dependencies) -> serve.Started:
        await ensure_service_streams(deps.nc.jetstream())
        engine = TwinEngine(deps.nc, config)
        await engine.start()

        async def details() -> dict[str, int | float | str]:
            return {
                "hosts": engine.state.host_count(),
                "clients": len(engine.broadcaster.clients),
                # The one replica writing the checkpoint; the others stand by.
                "checkpoint": "writer" if engine.checkpoint_writer.holds_lease() else "standby",
            }

        deps.details = details
        return serve.Started(create_app(deps, engine), engine.stop)

    return serve.main(config.service, start)
