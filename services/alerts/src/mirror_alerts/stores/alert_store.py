"""asyncpg access to alerts and their events: applying the evaluator's changes, and queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from mirror_alerts.evaluation.alert_state import AlertChange, ChangeKind
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
    "stored_acks",
]

SYSTEM_ACTOR: Final = "alerts"  # the actor of fires and resolves: the evaluator itself

_COLUMNS: Final = (
    "alert_id, rule_id, host_id, resource, metric, severity, state, value, threshold, "
    "message, fired_at, acknowledged_by, acknowledged_at, resolved_at, duration_seconds"
)
# Each statement takes a run of changes of one kind as arrays (one round trip for a storm).
# ON CONFLICT DO NOTHING: a replayed fire (same deterministic alert id) changes nothing.
INSERT_FIRED: Final = """
INSERT INTO alerts (alert_id, rule_id, host_id, resource, metric, severity, state, value,
                    threshold, message, fired_at)
SELECT a, r, h, res, m, s, 'firing', v, t, msg, f
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::float8[], $8::float8[], $9::text[], $10::timestamptz[])
     AS x(a, r, h, res, m, s, v, t, msg, f)
ON CONFLICT (alert_id) DO NOTHING
RETURNING alert_id
"""
UPDATE_ACKNOWLEDGED: Final = """
UPDATE alerts SET state = 'acknowledged', acknowledged_by = x.b, acknowledged_at = x.at
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x(a, b, at)
WHERE alerts.alert_id = x.a AND alerts.state = 'firing'
RETURNING alerts.alert_id
"""
UPDATE_RESOLVED: Final = """
UPDATE alerts SET state = 'resolved', resolved_at = x.at, duration_seconds = x.d
FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS x(a, at, d)
WHERE alerts.alert_id = x.a AND alerts.state <> 'resolved'
RETURNING alerts.alert_id
"""
INSERT_EVENTS: Final = """
INSERT INTO alert_events (alert_id, at, kind, state, actor, value, message)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                     $6::float8[], $7::text[])
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


def _runs(changes: Sequence[AlertChange]) -> list[list[AlertChange]]:
    """``changes`` cut into runs of one kind, each alert at most once per run, in order."""
    runs: list[list[AlertChange]] = []
    ids: set[str] = set()
    for change in changes:
        run = runs[-1] if runs else None
        if run is None or run[0].kind != change.kind or change.alert_id in ids:
            runs.append([change])
            ids = {change.alert_id}
        else:
            run.append(change)
            ids.add(change.alert_id)
    return runs


async def _apply_run(conn: Conn, run: Sequence[AlertChange]) -> list[AlertChange]:
    kind = run[0].kind
    ids = [c.alert_id for c in run]
    if kind == "fired":
        rows = await conn.fetch(
            INSERT_FIRED,
            ids,
            [c.rule_id for c in run],
            [c.host_id for c in run],
            [c.resource for c in run],
            [c.metric for c in run],
            [c.severity for c in run],
            [c.value for c in run],
            [c.threshold for c in run],
            [c.message for c in run],
            [c.at for c in run],
        )
    elif kind == "acknowledged":
        by = [c.acknowledged_by or SYSTEM_ACTOR for c in run]
        rows = await conn.fetch(UPDATE_ACKNOWLEDGED, ids, by, [c.at for c in run])
    else:
        durations = [c.duration_seconds for c in run]
        rows = await conn.fetch(UPDATE_RESOLVED, ids, [c.at for c in run], durations)
    found = {row["alert_id"] for row in rows}
    applied = [c for c in run if c.alert_id in found]
    if applied:
        await conn.execute(
            INSERT_EVENTS,
            [c.alert_id for c in applied],
            [c.at for c in applied],
            [c.kind for c in applied],
            [_STATE_OF[c.kind] for c in applied],
            [
                (c.acknowledged_by if c.kind == "acknowledged" else None) or SYSTEM_ACTOR
                for c in applied
            ],
            [c.value for c in applied],
            [c.message for c in applied],
        )
    return applied


async def apply_changes(conn: Conn, changes: Sequence[AlertChange]) -> list[AlertChange]:
    """Store ``changes`` in order, all or none, each with its event; the ones that changed
    something.

    Replays are harmless: a fire of a stored alert id, an ack of an alert not firing, or a
    resolve of an alert resolved (or never stored) is skipped, without an event. Consecutive
    changes of one kind are stored by one statement.
    """
    applied: list[AlertChange] = []
    async with conn.transaction():
        for run in _runs(changes):
            applied += await _apply_run(conn, run)
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


async def stored_acks(conn: Conn) -> list[AckNotice]:
    """An AckNotice for each open alert stored as acknowledged: what the notices told, read
    again when some may have been missed."""
    return [
        AckNotice(alert_id=r.alert_id, by=r.acknowledged_by, at=r.acknowledged_at)
        for r in await list_active(conn)
        if r.acknowledged_by is not None and r.acknowledged_at is not None
    ]


async def acknowledge(conn: Conn, change: AlertChange) -> bool:
    """Store an operator's ``acknowledged`` change and tell every replica, in one transaction;
    False if the alert was not firing any more (resolved or acknowledged meanwhile)."""
    async with conn.transaction():
        if not await _apply_run(conn, [change]):
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
