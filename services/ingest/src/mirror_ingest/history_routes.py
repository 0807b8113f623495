"""HTTP routes over the metric history: GET /api/metrics/history and GET /api/hosts."""

from datetime import UTC, datetime

import asyncpg
import msgspec
from fastapi import APIRouter, HTTPException, Response

from mirror_ingest import series, store
from mirror_ingest.rows import MAX_RATE_GAP_SECONDS


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
            query = series.parse_query(host, since, until, step, datetime.now(UTC))
        except series.QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        if await store.fetch_host(pool, query.host) is None:
            raise HTTPException(
                404,
                f"no history for host {query.host!r}; GET /api/hosts lists the hosts "
                "that have published samples",
            )
        points: list[series.RawPoint] | list[series.RollupPoint]
        if query.step == "raw":
            records = await store.fetch_raw(
                pool,
                query.host,
                query.since,
                query.until,
                limit=series.MAX_POINTS + 1,
                lookback_seconds=MAX_RATE_GAP_SECONDS,
            )
            points = series.raw_points(records, query.since)
            if len(points) > series.MAX_POINTS:
                raise HTTPException(
                    422,
                    f"step: more than {series.MAX_POINTS} raw points from "
                    f"{query.since.isoformat()} to {query.until.isoformat()}; use step=1m "
                    "or a shorter range",
                )
        else:
            rollups = await store.fetch_rollups(
                pool,
                query.host,
                query.since,
                query.until,
                step=query.step,
                limit=series.MAX_POINTS,
            )
            points = series.rollup_points(rollups)
        return _json(series.HistoryResponse(host=query.host, step=query.step, points=points))

    @router.get("/api/hosts")
    async def hosts() -> Response:
        return _json(HostsResponse(hosts=await store.fetch_hosts(pool)))

    return router
