"""service_app(): the FastAPI app every service starts from."""

from fastapi import FastAPI

from mirror_runtime.health import Dependencies, health_router


def service_app(deps: Dependencies) -> FastAPI:
    """A FastAPI app named after the service, with /api/health and /metrics mounted."""
    app = FastAPI(title=f"MIRROR STAGE {deps.service}", version="0.1.0")
    app.include_router(health_router(deps))
    return app
