"""The alerts store's test harness: a migrated database, a connection, rules and changes."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest_asyncio

from mirror_alerts.alert_state import (
    AlertChange,
    ChangeKind,
    alert_id_for,
)
from mirror_alerts.migrations import migrate
from mirror_alerts.rules import ThresholdRule
from mirror_runtime.pg import Conn

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the alerts' schema and default rules."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        await migrate(pool)
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    """A connection of `pool`, for the store's functions."""
    async with pool.acquire() as conn:
        yield conn


def user_rule(**changes: object) -> ThresholdRule:
    rule = ThresholdRule(
        id="disk-full",
        name="Disk full",
        metric="disk.used_percent",
        operator=">=",
        threshold=95.0,
        clear_threshold=90.0,
        for_seconds=30.0,
        severity="critical",
    )
    return msgspec.structs.replace(rule, **changes)


def change(
    kind: ChangeKind,
    at: datetime,
    *,
    host_id: str = "web-01",
    rule_id: str = "default-cpu-high",
    started_at: datetime = T0,
    **fields: object,
) -> AlertChange:
    base = AlertChange(
        kind=kind,
        alert_id=alert_id_for(rule_id, host_id, "", started_at),
        rule_id=rule_id,
        host_id=host_id,
        resource="",
        metric="cpu_load",
        severity="warning",
        at=at,
        message=f"{kind} on {host_id}",
        value=93.0,
        threshold=80.0,
    )
    return msgspec.structs.replace(base, **fields)
