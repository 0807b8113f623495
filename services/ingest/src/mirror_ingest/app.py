"""HTTP app of the ingest service: the gateway's and the history's routes; no NATS logic here."""

from fastapi import FastAPI

from mirror_ingest.config import IngestConfig
from mirror_ingest.gateway import SamplePublisher
from mirror_ingest.gateway_routes import gateway_router
from mirror_ingest.history_routes import history_router
from mirror_ingest.ratelimit import HostRateLimiter
from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies


def create_app(deps: Dependencies, config: IngestConfig) -> FastAPI:
    """POST /api/metrics/batch, GET /api/metrics/history, GET /api/hosts, health and metrics."""
    assert deps.pool is not None  # the service refuses to start without PostgreSQL
    # Agents' batches are larger than the default cap: theirs is the configured one.
    app = service_app(deps, body_limits={"/api/metrics/batch": config.max_body_bytes})
    publisher = SamplePublisher(deps.nc, ack_timeout_seconds=config.ack_timeout_seconds)
    limiter = HostRateLimiter(config.host_rate_per_second, config.host_burst)
    app.include_router(gateway_router(publisher, limiter, config))
    app.include_router(history_router(deps.pool))
    return app
