"""asyncpg access to the evaluator's snapshot: saved on a timer and at shutdown, loaded at start."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from mirror_alerts.evaluation.alert_state import EvaluatorSnapshot
from mirror_runtime.pg import Conn

__all__ = ["MAIN_EVALUATOR", "SavedSnapshot", "load_snapshot", "save_snapshot"]

# The row's name while one evaluator watches every host; a stable name, not a replica id.
MAIN_EVALUATOR: Final = "main"

UPSERT: Final = """
INSERT INTO evaluator_snapshot (evaluator, snapshot, saved_at, position)
VALUES ($1, $2::jsonb, $3, $4)
ON CONFLICT (evaluator) DO UPDATE
SET snapshot = excluded.snapshot, saved_at = excluded.saved_at, position = excluded.position
"""
SELECT: Final = (
    "SELECT snapshot::text AS snapshot, saved_at, position "
    "FROM evaluator_snapshot WHERE evaluator = $1"
)

_decode: Final = msgspec.json.Decoder(EvaluatorSnapshot).decode


class SavedSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot as loaded, with when it was saved."""

    snapshot: EvaluatorSnapshot
    saved_at: datetime
    position: int = 0  # the METRICS stream sequence of the last sample it covers; 0: none


async def save_snapshot(
    conn: Conn,
    snapshot: EvaluatorSnapshot,
    *,
    saved_at: datetime,
    position: int = 0,
    evaluator: str = MAIN_EVALUATOR,
) -> None:
    """Replace the evaluator's saved snapshot with ``snapshot``, which covers METRICS up to
    stream sequence ``position``."""
    await conn.execute(
        UPSERT, evaluator, msgspec.json.encode(snapshot).decode(), saved_at, position
    )


async def load_snapshot(conn: Conn, evaluator: str = MAIN_EVALUATOR) -> SavedSnapshot | None:
    """The evaluator's last saved snapshot; None if it never saved one.

    The snapshot's ``version`` is not checked here: :meth:`Evaluator.restore` refuses another.
    """
    row = await conn.fetchrow(SELECT, evaluator)
    if row is None:
        return None
    return SavedSnapshot(
        snapshot=_decode(row["snapshot"]), saved_at=row["saved_at"], position=row["position"]
    )
