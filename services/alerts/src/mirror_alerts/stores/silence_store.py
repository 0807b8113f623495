"""Silences: their asyncpg storage, and the pure matcher that says whether one covers an alert."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from mirror_alerts.silences import Silence, SilenceError, SilenceMatchers
from mirror_runtime.pg import Conn

__all__ = [
    "SILENCES_CHANNEL",
    "create_silence",
    "expire_silence",
    "list_active_silences",
    "list_silences",
]

_COLUMNS: Final = "id, matchers::text AS matchers, starts_at, ends_at, created_by, comment"
INSERT_SILENCE: Final = f"""
INSERT INTO silences (id, matchers, starts_at, ends_at, created_at, created_by, comment)
VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)
RETURNING {_COLUMNS}
"""  # noqa: S608
SELECT_ACTIVE: Final = f"""
SELECT {_COLUMNS} FROM silences WHERE starts_at <= $1 AND ends_at > $1
ORDER BY ends_at, id
"""  # noqa: S608
SELECT_CURRENT: Final = f"""
SELECT {_COLUMNS} FROM silences WHERE ends_at > $1 ORDER BY starts_at, ends_at, id
"""  # noqa: S608
# Told to every replica when a silence is created or expired: the notifier re-reads them.
SILENCES_CHANNEL: Final = "alert_silences"
NOTIFY: Final = "SELECT pg_notify($1, $2)"
# Expiring keeps the record (who silenced what, and until when it really held); one yet to
# start ends at its start, an empty window that never holds.
EXPIRE: Final = """
UPDATE silences SET ends_at = greatest($2, starts_at)
WHERE id = $1 AND ends_at > $2
"""


_decode_matchers: Final = msgspec.json.Decoder(SilenceMatchers).decode


def _silence(row: asyncpg.Record) -> Silence:
    fields = dict(row)
    fields["matchers"] = _decode_matchers(row["matchers"])
    return Silence(**fields)


async def create_silence(
    conn: Conn,
    matchers: SilenceMatchers,
    *,
    starts_at: datetime,
    ends_at: datetime,
    by: str,
    now: datetime,
    comment: str = "",
) -> Silence:
    """Store a new silence; :class:`SilenceError` naming the field if it is invalid."""
    try:
        checked = msgspec.convert(msgspec.to_builtins(matchers), SilenceMatchers)
    except msgspec.ValidationError as exc:
        raise SilenceError("matchers", str(exc)) from exc
    if checked.is_empty:
        raise SilenceError(
            "matchers",
            "no host_ids, tags, rule_ids or severities: it would silence every alert; "
            "name what to silence",
        )
    if ends_at <= starts_at:
        raise SilenceError(
            "ends_at", f"{ends_at.isoformat()} is not after starts_at {starts_at.isoformat()}"
        )
    if ends_at <= now:
        raise SilenceError("ends_at", f"{ends_at.isoformat()} is already past; nothing to silence")
    async with conn.transaction():
        row = await conn.fetchrow(
            INSERT_SILENCE,
            uuid.uuid4().hex,
            msgspec.json.encode(checked).decode(),
            starts_at,
            ends_at,
            now,
            by,
            comment,
        )
        assert row is not None  # INSERT ... RETURNING without ON CONFLICT returns its row
        await conn.execute(NOTIFY, SILENCES_CHANNEL, row["id"])
    return _silence(row)


async def list_active_silences(conn: Conn, now: datetime) -> list[Silence]:
    """The silences in force at ``now``, the soonest to end first."""
    return [_silence(row) for row in await conn.fetch(SELECT_ACTIVE, now)]


async def list_silences(conn: Conn, now: datetime) -> list[Silence]:
    """The silences in force at ``now`` or to come, the soonest to start first."""
    return [_silence(row) for row in await conn.fetch(SELECT_CURRENT, now)]


async def expire_silence(conn: Conn, silence_id: str, now: datetime) -> bool:
    """End a silence at ``now`` (its record stays); False if there is none still in force or
    to come."""
    async with conn.transaction():
        expired = await conn.execute(EXPIRE, silence_id, now) == "UPDATE 1"
        if expired:
            await conn.execute(NOTIFY, SILENCES_CHANNEL, silence_id)
    return expired
