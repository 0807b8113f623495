"""The ingest's API operations over the metric history (mirror_schema.metrics_operations):
reading one host's history and the hosts it has seen, behind both doors (endpoints.py, app.py).
Errors carry their code; the doors turn it into an HTTP status or a NATS Failure."""

from datetime import UTC, datetime

import asyncpg

from mirror_ingest import series, store
from mirror_ingest.errors import InvalidHistoryQueryError, UnknownHostError
from mirror_ingest.writing.rows import MAX_RATE_GAP_SECONDS
from mirror_schema.history import (
    HistoryHosts,
    HistoryResponse,
    HourHistory,
    MinuteHistory,
    RawHistory,
)


async def read_history(
    pool: asyncpg.Pool,
    host: str | None,
    since: str | None,
    until: str | None,
    step: str | None,
) -> HistoryResponse:
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
        return RawHistory(host=query.host, points=points)
    rollups = await store.fetch_rollups(
        pool, query.host, query.since, query.until, step=query.step, limit=series.MAX_POINTS
    )
    buckets = series.rollup_points(rollups)
    if query.step == "1m":
        return MinuteHistory(host=query.host, points=buckets)
    return HourHistory(host=query.host, points=buckets)


async def read_hosts(pool: asyncpg.Pool) -> HistoryHosts:
    """The hosts the history has seen, with their first and last samples."""
    return HistoryHosts(hosts=await store.fetch_hosts(pool))
