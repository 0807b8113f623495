"""asyncpg access to commands and their events: SQL constants and small functions."""

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg
import msgspec
from nats.js.api import PubAck

from mirror_commands import query, state
from mirror_runtime.pg import Conn
from mirror_schema.command_api import CommandEvent, CommandRecord, ListCommandsRequest
from mirror_schema.commands import CommandState

_COLUMNS: Final = (
    "id, host_id, hostname, command, status, priority, timeout_seconds, created_at, "
    "expires_at, requested_by, batch_id, retry_of, dispatched_at, started_at, finished_at, "
    "exit_code, stdout, stderr, stdout_truncated, stderr_truncated, error"
)
# The search expression, exactly as the trigram index is built on it.
_SEARCHED: Final = "(command || ' ' || stdout || ' ' || stderr)"

INSERT_COMMAND: Final = """
INSERT INTO commands (id, host_id, hostname, command, status, priority, timeout_seconds,
                      created_at, expires_at, requested_by, batch_id, retry_of)
VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11)
"""
INSERT_EVENT: Final = """
INSERT INTO command_events (command_id, host_id, at, event, status, actor, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_COMMAND: Final = f"SELECT {_COLUMNS} FROM commands WHERE id = $1"  # noqa: S608
SELECT_EVENTS: Final = """
SELECT at, event, status, actor, host_id, detail FROM command_events
WHERE command_id = $1 ORDER BY id
"""
# Locks the hosts' pending, unexpired commands against a dispatcher in another replica until
# commit; SKIP LOCKED: a command another is dispatching is its alone. Each host's in dispatch
# order: highest priority first, then oldest first.
CLAIM_PENDING: Final = f"""
SELECT {_COLUMNS} FROM commands
WHERE host_id = ANY($1::text[]) AND status = 'pending' AND expires_at > $2
ORDER BY host_id, priority DESC, created_at, id
FOR UPDATE SKIP LOCKED
"""  # noqa: S608 - built from constants
MARK_DISPATCHED: Final = """
UPDATE commands c SET status = 'dispatched', dispatched_at = $1, dispatch_seq = u.seq
FROM unnest($2::text[], $3::bigint[]) AS u(id, seq)
WHERE c.id = u.id AND c.status = 'pending'
"""
INSERT_DISPATCHED_EVENTS: Final = """
INSERT INTO command_events (command_id, host_id, at, event, status, actor, detail)
SELECT u.id, u.host_id, $1, 'dispatched', 'dispatched', 'commands', u.detail
FROM unnest($2::text[], $3::text[], $4::text[]) AS u(id, host_id, detail)
"""
SELECT_PENDING_HOSTS: Final = "SELECT DISTINCT host_id FROM commands WHERE status = 'pending'"
SELECT_PENDING_HOSTS_OF: Final = """
SELECT DISTINCT host_id FROM commands WHERE host_id = ANY($1::text[]) AND status = 'pending'
"""
SELECT_COMMANDS: Final = f"SELECT {_COLUMNS} FROM commands WHERE id = ANY($1)"  # noqa: S608

EXPIRE_DUE: Final = """
UPDATE commands SET status = 'expired', finished_at = $1,
       error = 'its agent did not take it before expires_at'
WHERE status = 'pending' AND expires_at <= $1
RETURNING id, host_id
"""


class NewCommand(msgspec.Struct, frozen=True, kw_only=True):
    """A command about to be stored (pending)."""

    id: str
    host_id: str
    hostname: str
    command: str
    priority: int
    timeout_seconds: float
    created_at: datetime
    expires_at: datetime
    requested_by: str
    batch_id: str | None = None
    retry_of: str | None = None


class Moved(msgspec.Struct, frozen=True, kw_only=True):
    """A transition that was applied: the command and the state it left."""

    id: str
    host_id: str
    previous: CommandState


def _record(row: asyncpg.Record, events: list[CommandEvent] | None = None) -> CommandRecord:
    fields = dict(row)
    if events:
        fields["events"] = events
    return msgspec.convert(fields, CommandRecord)


async def add_event(
    conn: Conn,
    command_id: str,
    host_id: str,
    *,
    at: datetime,
    event: str,
    status: CommandState,
    actor: str,
    detail: str | None = None,
) -> None:
    """Append one line to a command's audit log."""
    await conn.execute(INSERT_EVENT, command_id, host_id, at, event, status.value, actor, detail)


async def insert_commands(conn: Conn, commands: Sequence[NewCommand]) -> None:
    """Store new pending commands with their `created` events, all or none."""
    async with conn.transaction():
        await conn.executemany(
            INSERT_COMMAND,
            [
                (
                    c.id,
                    c.host_id,
                    c.hostname,
                    c.command,
                    c.priority,
                    c.timeout_seconds,
                    c.created_at,
                    c.expires_at,
                    c.requested_by,
                    c.batch_id,
                    c.retry_of,
                )
                for c in commands
            ],
        )
        await conn.executemany(
            INSERT_EVENT,
            [
                (
                    c.id,
                    c.host_id,
                    c.created_at,
                    "created",
                    CommandState.PENDING.value,
                    c.requested_by,
                    f"retry of {c.retry_of}" if c.retry_of else None,
                )
                for c in commands
            ],
        )


async def fetch_command(conn: Conn, command_id: str, *, events: bool) -> CommandRecord | None:
    """One command, with its event log when `events`; None if there is no such id."""
    row = await conn.fetchrow(SELECT_COMMAND, command_id)
    if row is None:
        return None
    history = None
    if events:
        history = [
            msgspec.convert(dict(e), CommandEvent)
            for e in await conn.fetch(SELECT_EVENTS, row["id"])
        ]
    return _record(row, history)


async def fetch_commands(conn: Conn, ids: Sequence[str]) -> list[CommandRecord]:
    """Several commands, in the order of `ids`."""
    rows = {row["id"]: row for row in await conn.fetch(SELECT_COMMANDS, list(ids))}
    return [_record(rows[i]) for i in ids if i in rows]


async def list_commands(
    conn: Conn, request: ListCommandsRequest
) -> tuple[list[CommandRecord], int]:
    """One page of the commands matching `request`, newest first, and how many match in all."""
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if request.hostname is not None:
        ids = query.host_ids_for(request.hostname)
        where.append(f"(host_id = ANY({arg(ids)}::text[]) OR hostname = {arg(request.hostname)})")
    if request.status:
        where.append(f"status = ANY({arg([s.value for s in request.status])}::text[])")
    if request.batch_id is not None:
        where.append(f"batch_id = {arg(request.batch_id)}")
    if request.search:
        where.append(f"{_SEARCHED} ILIKE {arg(query.like_pattern(request.search))}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = await conn.fetchval(f"SELECT count(*) FROM commands {clause}", *args)  # noqa: S608
    limit = arg(request.page_size)
    skip = arg(query.offset(request.page, request.page_size))
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM commands {clause} "  # noqa: S608 - built from constants
        f"ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {skip}",
        *args,
    )
    return [_record(row) for row in rows], int(total)


async def move(
    conn: Conn,
    command_id: str,
    target: CommandState,
    *,
    host_id: str | None = None,
    only_from: CommandState | None = None,
    **columns: object,
) -> Moved | None:
    """Move a command to `target` and set `columns`, if the life cycle allows it from the state
    it is in (and, given `host_id`, if it belongs to that host; given `only_from`, if it is in
    that state); None when nothing changed."""
    allowed = state.sources(target) if only_from is None else [only_from.value]
    sets = ["status = $2"]
    args: list[object] = [command_id, target.value, allowed]
    for name, value in columns.items():
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    host_clause = ""
    if host_id is not None:
        args.append(host_id)
        host_clause = f" AND host_id = ${len(args)}"
    # The old status, read under the row lock the UPDATE takes.
    sql = (
        f"UPDATE commands c SET {', '.join(sets)} "  # noqa: S608 - column names are ours
        f"FROM (SELECT id, status FROM commands WHERE id = $1 FOR UPDATE) old "
        f"WHERE c.id = old.id AND c.status = ANY($3::text[]){host_clause} "
        "RETURNING c.id, c.host_id, old.status AS previous"
    )
    row = await conn.fetchrow(sql, *args)
    return None if row is None else msgspec.convert(dict(row), Moved)


async def claim_pending(conn: Conn, host_ids: Sequence[str], now: datetime) -> list[CommandRecord]:
    """Lock the hosts' pending, unexpired commands for this transaction, by host and in each
    host's dispatch order; those another dispatcher holds are left out."""
    return [_record(row) for row in await conn.fetch(CLAIM_PENDING, list(host_ids), now)]


async def mark_dispatched(
    conn: Conn, published: Sequence[tuple[CommandRecord, PubAck]], now: datetime
) -> None:
    """Mark claimed commands dispatched with their stream sequence, each with its event."""
    if not published:
        return
    ids = [record.id for record, _ in published]
    await conn.execute(MARK_DISPATCHED, now, ids, [ack.seq for _, ack in published])
    details = [
        f"{ack.stream} seq {ack.seq}" + (" (duplicate)" if ack.duplicate else "")
        for _, ack in published
    ]
    hosts = [record.host_id for record, _ in published]
    await conn.execute(INSERT_DISPATCHED_EVENTS, now, ids, hosts, details)


async def pending_hosts(conn: Conn, host_ids: Sequence[str] | None = None) -> set[str]:
    """Hosts with at least one pending command: of every host, or of `host_ids`."""
    if host_ids is None:
        rows = await conn.fetch(SELECT_PENDING_HOSTS)
    else:
        rows = await conn.fetch(SELECT_PENDING_HOSTS_OF, list(host_ids))
    return {row["host_id"] for row in rows}


async def expire_due(conn: Conn, now: datetime) -> list[tuple[str, str]]:
    """Expire every pending command past its expires_at, with its event; (id, host) of each."""
    async with conn.transaction():
        rows = await conn.fetch(EXPIRE_DUE, now)
        for row in rows:
            await add_event(
                conn,
                row["id"],
                row["host_id"],
                at=now,
                event="expired",
                status=CommandState.EXPIRED,
                actor="commands",
                detail="not dispatched before expires_at",
            )
    return [(row["id"], row["host_id"]) for row in rows]
