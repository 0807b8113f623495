"""asyncpg access to how far the ALERTS stream's events are stored, and the storing itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from mirror_alerts.evaluation.alert_state import AlertChange
from mirror_alerts.stores import alert_store
from mirror_runtime.pg import Conn

__all__ = ["PositionMovedError", "record", "stored_position"]

SELECT: Final = "SELECT position FROM alert_event_position WHERE stream = $1"
# The first time (a new database, or one upgraded from when the leader stored changes before
# it published them): every event already in the stream is stored.
START: Final = """
INSERT INTO alert_event_position (stream, position) VALUES ($1, $2)
ON CONFLICT (stream) DO NOTHING
"""
MOVE: Final = """
UPDATE alert_event_position SET position = $3 WHERE stream = $1 AND position = $2
"""


class PositionMovedError(Exception):
    """Another recorder stored these events first (two leaders for a moment): nothing done."""


async def stored_position(conn: Conn, stream: str, *, last_in_stream: int) -> int:
    """The stream sequence stored up to; ``last_in_stream`` the first time."""
    await conn.execute(START, stream, last_in_stream)
    position: int = await conn.fetchval(SELECT, stream)
    return position


async def record(
    conn: Conn, stream: str, changes: Sequence[AlertChange], *, after: int, up_to: int
) -> list[AlertChange]:
    """Store ``changes`` (the events after sequence ``after``, up to ``up_to``) and move the
    position, in one transaction; the changes that changed something."""
    async with conn.transaction():
        applied = await alert_store.apply_changes(conn, changes)
        if await conn.execute(MOVE, stream, after, up_to) != "UPDATE 1":
            raise PositionMovedError(f"{stream} is no longer stored up to {after}")
    return applied
