"""Health and Prometheus endpoints shared by every service."""

from collections.abc import Awaitable, Callable
from typing import Literal

import asyncpg
import msgspec
import nats.aio.client
import prometheus_client
from fastapi import APIRouter, Response

from mirror_runtime.cluster_health import ClusterHealth, cluster_health

NatsState = Literal["connected", "reconnecting", "disconnected"]
DbState = Literal["connected", "unreachable", "not configured"]

NATS_CONNECTED = prometheus_client.Gauge(
    "mirror_nats_connected", "1 while the service holds a live NATS connection"
)
DB_CONNECTED = prometheus_client.Gauge(
    "mirror_db_connected", "1 while the service's PostgreSQL pool answers"
)


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """Body of GET /api/health."""

    status: Literal["ok", "degraded"]
    service: str
    nats: NatsState
    db: DbState
    # The project's streams as the NATS cluster reports them (None while NATS is away).
    cluster: ClusterHealth | None = None
    # Service-specific state, such as a consumer's lag.
    details: dict[str, int | float | str] = {}


class Dependencies:
    """The connections a service holds, for its handlers and its health endpoint."""

    def __init__(
        self,
        service: str,
        nc: nats.aio.client.Client,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self.service = service
        self.nc = nc
        self.pool = pool
        # A service may add its own state to the health report (set by its start hook).
        self.details: Callable[[], Awaitable[dict[str, int | float | str]]] | None = None

    def nats_state(self) -> NatsState:
        """Whether the NATS connection is usable right now."""
        if self.nc.is_connected:
            return "connected"
        if self.nc.is_reconnecting:
            return "reconnecting"
        return "disconnected"

    async def db_state(self) -> DbState:
        """Whether PostgreSQL answers a trivial query within a second."""
        if self.pool is None:
            return "not configured"
        try:
            await self.pool.fetchval("SELECT 1", timeout=1.0)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return "unreachable"
        return "connected"

    async def connections(self) -> tuple[NatsState, DbState]:
        """The NATS connection's and the database's state, onto their gauges too."""
        nats_state = self.nats_state()
        db_state = await self.db_state()
        NATS_CONNECTED.set(nats_state == "connected")
        DB_CONNECTED.set(db_state == "connected")
        return nats_state, db_state

    async def report(self) -> HealthReport:
        """Current state of every dependency; degraded when any configured one is down, or
        a stream of the project has no leader or no majority of its replicas current."""
        nats_state, db_state = await self.connections()
        cluster = await cluster_health(self.nc) if nats_state == "connected" else None
        healthy = (
            nats_state == "connected"
            and db_state != "unreachable"
            and (cluster is None or cluster.healthy)
        )
        return HealthReport(
            status="ok" if healthy else "degraded",
            service=self.service,
            nats=nats_state,
            db=db_state,
            cluster=cluster,
            details=await self.details() if self.details is not None else {},
        )


def health_router(deps: Dependencies) -> APIRouter:
    """GET /api/health (200 when healthy, 503 when degraded) and GET /metrics."""
    router = APIRouter()

    @router.get("/api/health")
    async def health() -> Response:
        report = await deps.report()
        return Response(
            content=msgspec.json.encode(report),
            status_code=200 if report.status == "ok" else 503,
            media_type="application/json",
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        await deps.connections()  # the connection gauges, fresh (no cluster round trips)
        return Response(
            content=prometheus_client.generate_latest(),
            media_type=prometheus_client.CONTENT_TYPE_LATEST,
        )

    return router
