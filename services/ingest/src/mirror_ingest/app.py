"""HTTP app of the ingest service: the agents' batch route and the history's declared
operations (mirror_schema.metrics_operations); no NATS logic here."""

from fastapi import FastAPI

from mirror_ingest import metrics
from mirror_ingest.batch import SamplePublisher
from mirror_ingest.batch_routes import batch_router
from mirror_ingest.config import IngestConfig
from mirror_ingest.endpoints import implementations
from mirror_ingest.ratelimit import HostRateLimiter
from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies
from mirror_runtime.http_door import mount_operations


def create_app(deps: Dependencies, config: IngestConfig) -> FastAPI:
    """POST /api/metrics/batch, GET /api/metrics/history, GET /api/hosts, health and metrics."""
    assert deps.pool is not None  # the service refuses to start without PostgreSQL
    # Agents' batches are larger than the default cap: theirs is the configured one.
    app = service_app(deps, body_limits={"/api/metrics/batch": config.max_body_bytes})
    publisher = SamplePublisher(deps.nc, ack_timeout_seconds=config.ack_timeout_seconds)
    limiter = HostRateLimiter(config.host_rate_per_second, config.host_burst)
    app.include_router(batch_router(publisher, limiter, config))
    mount_operations(app, implementations(deps.pool), requests=metrics.REQUESTS)
    return app
