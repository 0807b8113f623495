"""The operator's host labels (table ``host_labels``): the tags and rack a Selector matches.

Targeting never reads tags or racks from samples (an agent may claim anything of itself):
only from here, where operators put them (``PUT /api/commands/hosts/{host_id}/labels``,
``commands.api.labels.set``). Read from PostgreSQL at each request, so every replica sees a
change at once.
"""

from collections.abc import Collection
from datetime import datetime
from typing import Final

import msgspec

from mirror_commands.errors import InvalidRequestError
from mirror_runtime.pg import Conn
from mirror_schema.command_api import MAX_LABEL_KEY_LENGTH, HostLabels, SetHostLabelsRequest
from mirror_schema.commands import Selector

UPSERT: Final = """
INSERT INTO host_labels (host_id, tags, rack, updated_at, updated_by)
VALUES ($1, $2::jsonb, $3, $4, $5)
ON CONFLICT (host_id) DO UPDATE
SET tags = EXCLUDED.tags, rack = EXCLUDED.rack, updated_at = EXCLUDED.updated_at,
    updated_by = EXCLUDED.updated_by
RETURNING host_id, tags::text AS tags, rack, updated_at, updated_by
"""
DELETE: Final = """
DELETE FROM host_labels WHERE host_id = $1
RETURNING host_id, tags::text AS tags, rack, updated_at, updated_by
"""
SELECT_ALL: Final = """
SELECT host_id, tags::text AS tags, rack, updated_at, updated_by FROM host_labels
ORDER BY host_id
"""
SELECT_SOME: Final = """
SELECT host_id, tags::text AS tags, rack, updated_at, updated_by FROM host_labels
WHERE host_id = ANY($1::text[])
"""
# `@>`: every tag of the selector, same value (served by the GIN index).
SELECT_MATCHING: Final = """
SELECT host_id FROM host_labels
WHERE tags @> $1::jsonb AND ($2::text IS NULL OR rack = $2)
ORDER BY host_id
"""


def check_tags(request: SetHostLabelsRequest) -> None:
    """Each tag key is 1 to MAX_LABEL_KEY_LENGTH characters; else an error naming it."""
    for key in request.tags:
        if not 1 <= len(key) <= MAX_LABEL_KEY_LENGTH:
            raise InvalidRequestError(
                f"tags: key {key[:80]!r} must be 1 to {MAX_LABEL_KEY_LENGTH} characters"
            )


def _labels(row: object) -> HostLabels:
    fields = dict(row)  # type: ignore[call-overload]
    fields["tags"] = msgspec.json.decode(fields["tags"])
    return msgspec.convert(fields, HostLabels)


async def put(conn: Conn, request: SetHostLabelsRequest, at: datetime, by: str) -> HostLabels:
    """Set the host's labels, replacing what it had; the labels stored."""
    row = await conn.fetchrow(
        UPSERT, request.host_id, msgspec.json.encode(request.tags).decode(), request.rack, at, by
    )
    return _labels(row)


async def delete(conn: Conn, host_id: str) -> HostLabels | None:
    """Remove the host's labels; what they were, None if it had none."""
    row = await conn.fetchrow(DELETE, host_id)
    return None if row is None else _labels(row)


async def every(conn: Conn) -> list[HostLabels]:
    """Every labelled host, by host id."""
    return [_labels(row) for row in await conn.fetch(SELECT_ALL)]


async def of(conn: Conn, host_ids: Collection[str]) -> dict[str, HostLabels]:
    """The labels of those of `host_ids` that have some."""
    rows = await conn.fetch(SELECT_SOME, list(host_ids))
    return {row["host_id"]: _labels(row) for row in rows}


async def matching(conn: Conn, selector: Selector) -> list[str]:
    """The host ids whose labels carry every tag of `selector` and its rack, by host id."""
    rows = await conn.fetch(
        SELECT_MATCHING, msgspec.json.encode(selector.tags).decode(), selector.rack
    )
    return [row["host_id"] for row in rows]
