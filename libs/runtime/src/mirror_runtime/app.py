"""service_app(): the FastAPI app every service starts from."""

from collections.abc import Mapping

from fastapi import FastAPI

from mirror_runtime.health import Dependencies, health_router
from mirror_runtime.http import BodyLimitMiddleware


def service_app(deps: Dependencies, *, body_limits: Mapping[str, int] | None = None) -> FastAPI:
    """A FastAPI app named after the service, with /api/health and /metrics mounted.

    Every request body is capped (mirror_runtime.http.DEFAULT_MAX_BODY_BYTES, or the path's
    own in `body_limits`). No /docs, /redoc or /openapi.json: the runtime serves the last one
    when MIRROR_STAGE_HTTP_OPENAPI is on.
    """
    app = FastAPI(
        title=f"MIRROR STAGE {deps.service}",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(health_router(deps))
    app.add_middleware(BodyLimitMiddleware, limits=body_limits or {})
    return app
