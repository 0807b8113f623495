"""asyncpg access to each receiver's latest delivery (receiver_deliveries): written by the
evaluating replica's dispatcher, read by any replica's receivers list. One row per receiver."""

from __future__ import annotations

import asyncio
from typing import Final

import asyncpg
import structlog

from mirror_runtime.doors import TRANSIENT
from mirror_runtime.pg import Conn
from mirror_schema.alert_api import DeliveryRecord

__all__ = ["DeliveryRecorder", "last_deliveries", "record_delivery"]

log = structlog.get_logger()

# A delivery's record waits no longer than this for the database: the receiver's worker is
# the one waiting, and its next notifications with it.
RECORD_SECONDS: Final = 5.0

# The database away or refusing: the record is lost, the delivery is not.
FAILURES: Final[tuple[type[BaseException], ...]] = (*TRANSIENT, asyncpg.PostgresError)

UPSERT: Final = """
INSERT INTO receiver_deliveries
    (receiver, at, outcome, attempts, status, error, kind, rule_id, host_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (receiver) DO UPDATE SET
    at = excluded.at, outcome = excluded.outcome, attempts = excluded.attempts,
    status = excluded.status, error = excluded.error, kind = excluded.kind,
    rule_id = excluded.rule_id, host_id = excluded.host_id
WHERE receiver_deliveries.at <= excluded.at
"""
SELECT: Final = (
    "SELECT receiver, at, outcome, attempts, status, error, kind, rule_id, host_id "
    "FROM receiver_deliveries"
)


async def record_delivery(conn: Conn, receiver: str, record: DeliveryRecord) -> None:
    """Keep `record` as the receiver's latest delivery (an older one never replaces it)."""
    await conn.execute(
        UPSERT,
        receiver,
        record.at,
        record.outcome,
        record.attempts,
        record.status,
        record.error,
        record.kind,
        record.rule_id,
        record.host_id,
    )


async def last_deliveries(conn: Conn) -> dict[str, DeliveryRecord]:
    """Each receiver's latest delivery, by receiver name."""
    rows = await conn.fetch(SELECT)
    return {
        row["receiver"]: DeliveryRecord(
            at=row["at"],
            outcome=row["outcome"],
            attempts=row["attempts"],
            status=row["status"],
            error=row["error"],
            kind=row["kind"],
            rule_id=row["rule_id"],
            host_id=row["host_id"],
        )
        for row in rows
    }


class DeliveryRecorder:
    """The dispatcher's on_delivered: each receiver's latest delivery stored in the
    background, so that a database away (or slow) never holds up the deliveries that follow;
    it costs the record, never the delivery (logged)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._latest: dict[str, DeliveryRecord] = {}  # bounded by the receivers
        self._writing: asyncio.Task[None] | None = None

    async def __call__(self, receiver: str, record: DeliveryRecord) -> None:
        self._latest[receiver] = record  # only the latest is kept: an older one is moot
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="alerts-deliveries")

    async def _write(self) -> None:
        while self._latest:
            receiver, record = self._latest.popitem()
            try:
                async with asyncio.timeout(RECORD_SECONDS), self.pool.acquire() as conn:
                    await record_delivery(conn, receiver, record)
            except FAILURES as exc:
                log.warning("notify.record_failed", receiver=receiver, error=str(exc))
