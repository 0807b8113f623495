"""Reading the metric history: one function behind GET /api/metrics/history and the NATS
endpoint metrics.api.history. Errors carry the HTTP status and the NATS code."""

from datetime import UTC, datetime

import asyncpg

from mirror_ingest import series, store
from mirror_ingest.writing.rows import MAX_RATE_GAP_SECONDS
from mirror_runtime.doors import ApiError
from mirror_schema import history


class InvalidHistoryQueryError(ApiError):
    status = 422
    code = "invalid"


class UnknownHostError(ApiError):
    status = 404
    code = "not_found"


async def read_history(
    pool: asyncpg.Pool,
    host: str | None,
    since: str | None,
    until: str | None,
    step: str | None,
) -> history.HistoryResponse:
    """The points of one host's history between `since` and `until` at `step`."""
    try:
        query = series.parse_query(host, since, until, step, datetime.now(UTC))
    except series.QueryError as exc:
        raise InvalidHistoryQueryError(str(exc)) from None
    if await store.fetch_host(pool, query.host) is None:
        raise UnknownHostError(
            f"no history for host {query.host!r}; GET /api/hosts lists the hosts "
            "that have published samples"
        )
    points: list[history.RawPoint] | list[history.RollupPoint]
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
            raise InvalidHistoryQueryError(
                f"step: more than {series.MAX_POINTS} raw points from "
                f"{query.since.isoformat()} to {query.until.isoformat()}; use step=1m "
                "or a shorter range"
            )
    else:
        rollups = await store.fetch_rollups(
            pool, query.host, query.since, query.until, step=query.step, limit=series.MAX_POINTS
        )
        points = series.rollup_points(rollups)
    return history.HistoryResponse(host=query.host, step=query.step, points=points)
