"""asyncpg access to alerts and their events: applying the evaluator's changes, and queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from mirror_alerts.alert_state import AlertChange, ChangeKind
from mirror_runtime.pg import Conn
from mirror_schema.alert_api import AlertEventRecord, AlertRecord
from mirror_schema.alerts import AlertState

__all__ = [
    "ACKS_CHANNEL",
    "SYSTEM_ACTOR",
    "AckNotice",
    "AlertEventRecord",
    "AlertRecord",
    "acknowledge",
    "apply_changes",
    "decode_ack_notice",
    "get_alert",
    "list_active",
    "list_history",
]

SYSTEM_ACTOR: Final = "alerts"  # the actor of fires and resolves: the evaluator itself

_COLUMNS: Final = (
    "alert_id, rule_id, host_id, resource, metric, severity, state, value, threshold, "
    "message, fired_at, acknowledged_by, acknowledged_at, resolved_at, duration_seconds"
)
# ON CONFLICT DO NOTHING: a replayed fire (same deterministic alert id) changes nothing.
INSERT_FIRED: Final = """
INSERT INTO alerts (alert_id, rule_id, host_id, resource, metric, severity, state, value,
                    threshold, message, fired_at)
VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10)
ON CONFLICT (alert_id) DO NOTHING
RETURNING alert_id
"""
UPDATE_ACKNOWLEDGED: Final = """
UPDATE alerts SET state = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3
WHERE alert_id = $1 AND state = 'firing'
RETURNING alert_id
"""
UPDATE_RESOLVED: Final = """
UPDATE alerts SET state = 'resolved', resolved_at = $2, duration_seconds = $3
WHERE alert_id = $1 AND state <> 'resolved'
RETURNING alert_id
"""
INSERT_EVENT: Final = """
INSERT INTO alert_events (alert_id, at, kind, state, actor, value, message)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_ALERT: Final = f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = $1"  # noqa: S608
SELECT_ACTIVE: Final = f"""
SELECT {_COLUMNS} FROM alerts WHERE state <> 'resolved' AND ($1::text IS NULL OR host_id = $1)
ORDER BY fired_at DESC, alert_id DESC
"""  # noqa: S608
# Told to every replica when an operator acknowledges: the evaluating one updates its state.
ACKS_CHANNEL: Final = "alert_acks"
NOTIFY: Final = "SELECT pg_notify($1, $2)"
SELECT_EVENTS: Final = """
SELECT at, kind, state, actor, value, message FROM alert_events
WHERE alert_id = $1 ORDER BY id
"""

_STATE_OF: Final[dict[ChangeKind, AlertState]] = {
    "fired": "firing",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
}


def _record(row: asyncpg.Record, events: list[AlertEventRecord] | None = None) -> AlertRecord:
    fields = dict(row)
    if events:
        fields["events"] = events
    return msgspec.convert(fields, AlertRecord)


async def _apply(conn: Conn, change: AlertChange) -> bool:
    if change.kind == "fired":
        found = await conn.fetchval(
            INSERT_FIRED,
            change.alert_id,
            change.rule_id,
            change.host_id,
            change.resource,
            change.metric,
            change.severity,
            change.value,
            change.threshold,
            change.message,
            change.at,
        )
    elif change.kind == "acknowledged":
        by = change.acknowledged_by or SYSTEM_ACTOR
        found = await conn.fetchval(UPDATE_ACKNOWLEDGED, change.alert_id, by, change.at)
    else:
        found = await conn.fetchval(
            UPDATE_RESOLVED, change.alert_id, change.at, change.duration_seconds
        )
    if found is None:
        return False
    actor = change.acknowledged_by if change.kind == "acknowledged" else None
    await conn.execute(
        INSERT_EVENT,
        change.alert_id,
        change.at,
        change.kind,
        _STATE_OF[change.kind],
        actor or SYSTEM_ACTOR,
        change.value,
        change.message,
    )
    return True


async def apply_changes(conn: Conn, changes: Sequence[AlertChange]) -> list[AlertChange]:
    """Store ``changes`` in order, all or none, each with its event; the ones that changed
    something.

    Replays are harmless: a fire of a stored alert id, an ack of an alert not firing, or a
    resolve of an alert resolved (or never stored) is skipped, without an event.
    """
    applied: list[AlertChange] = []
    async with conn.transaction():
        for change in changes:
            if await _apply(conn, change):
                applied.append(change)
    return applied


async def get_alert(conn: Conn, alert_id: str) -> AlertRecord | None:
    """One alert with its events, oldest first; None if there is no such id."""
    row = await conn.fetchrow(SELECT_ALERT, alert_id)
    if row is None:
        return None
    events = [
        msgspec.convert(dict(e), AlertEventRecord)
        for e in await conn.fetch(SELECT_EVENTS, alert_id)
    ]
    return _record(row, events)


async def list_active(conn: Conn, host_id: str | None = None) -> list[AlertRecord]:
    """Every open alert (firing or acknowledged), of ``host_id`` when given, newest first."""
    return [_record(row) for row in await conn.fetch(SELECT_ACTIVE, host_id)]


class AckNotice(msgspec.Struct, frozen=True, kw_only=True):
    """The payload on ``alert_acks``: which alert, by whom, when."""

    alert_id: str
    by: str
    at: datetime


decode_ack_notice: Final = msgspec.json.Decoder(AckNotice).decode


async def acknowledge(conn: Conn, change: AlertChange) -> bool:
    """Store an operator's ``acknowledged`` change and tell every replica, in one transaction;
    False if the alert was not firing any more (resolved or acknowledged meanwhile)."""
    async with conn.transaction():
        if not await _apply(conn, change):
            return False
        notice = AckNotice(
            alert_id=change.alert_id, by=change.acknowledged_by or SYSTEM_ACTOR, at=change.at
        )
        await conn.execute(NOTIFY, ACKS_CHANNEL, msgspec.json.encode(notice).decode())
    return True


async def list_history(
    conn: Conn,
    *,
    host_id: str | None = None,
    state: AlertState | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AlertRecord]:
    """Alerts fired at or after ``since``, of ``host_id``, in ``state`` (each when given),
    newest first, at most ``limit``."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if host_id is not None:
        where.append(f"host_id = {arg(host_id)}")
    if state is not None:
        where.append(f"state = {arg(state)}")
    if since is not None:
        where.append(f"fired_at >= {arg(since)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM alerts {clause} "  # noqa: S608 - built from constants
        f"ORDER BY fired_at DESC, alert_id DESC LIMIT {arg(limit)}",
        *args,
    )
    return [_record(row) for row in rows]
