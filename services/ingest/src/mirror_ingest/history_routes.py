"""HTTP routes over the metric history: GET /api/metrics/history and GET /api/hosts."""

import asyncpg
import msgspec
from fastapi import APIRouter, HTTPException, Response

from mirror_ingest import store
from mirror_ingest.history_api import read_history
from mirror_runtime.doors import ApiError


class HostsResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Body of GET /api/hosts."""

    hosts: list[store.HostRecord]


def _json(body: msgspec.Struct) -> Response:
    return Response(content=msgspec.json.encode(body), media_type="application/json")


def history_router(pool: asyncpg.Pool) -> APIRouter:
    """Routes reading the history PostgreSQL holds."""
    router = APIRouter()

    @router.get("/api/metrics/history")
    async def history(
        host: str | None = None,
        since: str | None = None,
        until: str | None = None,
        step: str | None = None,
    ) -> Response:
        try:
            return _json(await read_history(pool, host, since, until, step))
        except ApiError as exc:
            raise HTTPException(exc.status, exc.detail) from None

    @router.get("/api/hosts")
    async def hosts() -> Response:
        return _json(HostsResponse(hosts=await store.fetch_hosts(pool)))

    return router
