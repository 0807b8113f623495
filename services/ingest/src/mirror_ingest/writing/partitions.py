"""Day partitions of the history: created ahead of time or on demand, dropped past retention."""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import asyncpg
import structlog

from mirror_ingest.migrations import LOCK_CLASS
from mirror_runtime.pg import Conn

log = structlog.get_logger()

# Tables partitioned by UTC day; a 1 m bucket always lies in the day of its samples, so both
# tables get each day's partition together and keep the same retention.
PARTITIONED: Final = ("metric_samples", "metric_rollup_1m")
# Today's partition and this many following days exist before any sample needs them.
DAYS_AHEAD: Final = 3
# 1 h rollups outlive the raw rows and 1 m rollups: a year of trends plus a month to compare.
HOUR_ROLLUP_RETENTION_DAYS: Final = 400
PARTITION_LOCK: Final = 2

_SUFFIX_RE: Final = re.compile(r"_p(\d{8})$")


def partition_name(table: str, day: date) -> str:
    """`metric_samples_p20260115`: the partition of `table` holding `day` (UTC)."""
    return f"{table}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a day partition starts at (inclusive) and ends at (exclusive)."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """The oldest timestamp still kept: a sample before it is past retention."""
    return now - timedelta(days=retention_days)


def horizon(now: datetime) -> datetime:
    """The first instant after the last day partition made ahead of time."""
    return day_bounds(now.astimezone(UTC).date() + timedelta(days=DAYS_AHEAD))[1]


def days_ahead(now: datetime) -> list[date]:
    """Today (UTC) and the DAYS_AHEAD days after it."""
    today = now.astimezone(UTC).date()
    return [today + timedelta(days=n) for n in range(DAYS_AHEAD + 1)]


def expired(days: Iterable[date], now: datetime, retention_days: int) -> list[date]:
    """The days whose whole span is older than retention, oldest first."""
    cutoff = retention_cutoff(now, retention_days)
    return sorted(day for day in days if day_bounds(day)[1] <= cutoff)


def admission_error(timestamp: datetime, now: datetime, retention_days: int) -> str | None:
    """Why a sample can never be stored (past retention, too far ahead), or None if it can."""
    cutoff = retention_cutoff(now, retention_days)
    if timestamp < cutoff:
        return (
            f"timestamp {timestamp.isoformat()} is older than the {retention_days}-day "
            f"history retention (cutoff {cutoff.isoformat()}); it would be dropped at once"
        )
    limit = horizon(now)
    if timestamp >= limit:
        return (
            f"timestamp {timestamp.isoformat()} is beyond the partitions made ahead of time "
            f"(until {limit.isoformat()}); check the sending host's clock"
        )
    return None


async def _partition_days(conn: Conn) -> list[tuple[str, date]]:
    """(parent table, day) of every day partition of the partitioned tables."""
    rows = await conn.fetch(
        "SELECT parent.relname AS parent, child.relname AS child FROM pg_inherits i "
        "JOIN pg_class parent ON parent.oid = i.inhparent "
        "JOIN pg_class child ON child.oid = i.inhrelid "
        "WHERE parent.relname = ANY($1::text[])",
        list(PARTITIONED),
    )
    found = ((row["parent"], _SUFFIX_RE.search(row["child"])) for row in rows)
    return [
        (parent, datetime.strptime(match[1], "%Y%m%d").date())
        for parent, match in found
        if match is not None
    ]


async def existing_days(conn: Conn) -> set[date]:
    """Days that have a partition of every partitioned table."""
    per_table: dict[str, set[date]] = {table: set() for table in PARTITIONED}
    for parent, day in await _partition_days(conn):
        per_table[parent].add(day)
    return set.intersection(*per_table.values())


async def create_days(pool: asyncpg.Pool, days: Iterable[date]) -> list[date]:
    """Create the partitions of `days` that are missing; return the days created."""
    created: list[date] = []
    async with pool.acquire() as conn, conn.transaction():
        # Replicas creating the same day at once would collide in the catalog.
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_CLASS, PARTITION_LOCK)
        have = await existing_days(conn)
        for day in sorted(set(days) - have):
            # The owner's function (migration 2): this role may not create tables itself.
            await conn.execute("SELECT history_create_day($1)", day)
            created.append(day)
    if created:
        log.info("history.partitions_created", days=[d.isoformat() for d in created])
    return created


async def drop_expired(pool: asyncpg.Pool, now: datetime, retention_days: int) -> list[date]:
    """Drop the day partitions past retention and prune old 1 h rollups; return days dropped."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_CLASS, PARTITION_LOCK)
        days = expired(await existing_days_any(conn), now, retention_days)
        for day in days:
            await conn.execute("SELECT history_drop_day($1)", day)
        await conn.execute(
            "DELETE FROM metric_rollup_1h WHERE bucket < $1",
            retention_cutoff(now, HOUR_ROLLUP_RETENTION_DAYS),
        )
    if days:
        log.info("history.partitions_dropped", days=[d.isoformat() for d in days])
    return days


async def existing_days_any(conn: Conn) -> set[date]:
    """Days that have a partition of any partitioned table (a half-dropped day included)."""
    return {day for _, day in await _partition_days(conn)}


async def maintain(pool: asyncpg.Pool, now: datetime, retention_days: int) -> set[date]:
    """Create the days ahead, drop the expired ones; return the days that have partitions now."""
    await create_days(pool, days_ahead(now))
    await drop_expired(pool, now, retention_days)
    async with pool.acquire() as conn:
        return await existing_days(conn)
