"""Versioned, idempotent schema migrations of the commands and their events, at start-up."""

from typing import Final

import asyncpg

from mirror_runtime import migrations
from mirror_runtime.migrations import Grants, Migration, privileges

COMPONENT: Final = "commands"

MIGRATIONS: Final = (
    Migration(
        version=1,
        name="commands and their event log",
        sql="""
CREATE TABLE commands (
    id text PRIMARY KEY,
    host_id text NOT NULL,
    hostname text NOT NULL,
    command text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'dispatched', 'running', 'succeeded',
        'failed', 'timed_out', 'cancelled', 'expired', 'rejected')),
    priority smallint NOT NULL CHECK (priority BETWEEN 0 AND 10),
    timeout_seconds double precision NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    requested_by text NOT NULL,
    batch_id text,
    retry_of text REFERENCES commands (id),
    dispatched_at timestamptz,
    dispatch_seq bigint,
    started_at timestamptz,
    finished_at timestamptz,
    exit_code integer,
    stdout text NOT NULL DEFAULT '',
    stderr text NOT NULL DEFAULT '',
    stdout_truncated boolean NOT NULL DEFAULT false,
    stderr_truncated boolean NOT NULL DEFAULT false,
    error text
);
CREATE INDEX commands_created ON commands (created_at DESC, id DESC);
CREATE INDEX commands_host_created ON commands (host_id, created_at DESC, id DESC);
CREATE INDEX commands_status_created ON commands (status, created_at DESC, id DESC);
CREATE INDEX commands_batch ON commands (batch_id) WHERE batch_id IS NOT NULL;
-- What the dispatcher and the expiry sweep read: small, since pending commands are few.
CREATE INDEX commands_pending ON commands (host_id, priority DESC, created_at)
    WHERE status = 'pending';
CREATE INDEX commands_pending_expiry ON commands (expires_at) WHERE status = 'pending';
-- One row per applied transition or request: who, when, what, where, outcome.
CREATE TABLE command_events (
    id bigserial PRIMARY KEY,
    command_id text NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
    host_id text NOT NULL,
    at timestamptz NOT NULL,
    event text NOT NULL,
    status text NOT NULL,
    actor text NOT NULL,
    detail text
);
CREATE INDEX command_events_command ON command_events (command_id, id);
""",
    ),
    Migration(
        version=2,
        name="trigram indexes for search, when pg_trgm can be installed",
        # Without pg_trgm, search is a sequential ILIKE scan: fine for thousands of commands.
        sql="""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX commands_search ON commands
            USING gin ((command || ' ' || stdout || ' ' || stderr) gin_trgm_ops);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm not installed (%): search scans the table', SQLERRM;
END
$$;
""",
    ),
    Migration(
        version=3,
        name="the key that signs dispatched commands",
        # One row: made by the first replica to start (signing_key.load_or_create), shared by
        # all. Whoever can write this database can already queue commands, so it is as trusted
        # as the key; agents hold only the public half.
        sql="""
CREATE TABLE signing_key (
    id smallint PRIMARY KEY CHECK (id = 1),
    algorithm text NOT NULL,
    seed text NOT NULL,
    public_key text NOT NULL,
    created_at timestamptz NOT NULL
);
""",
    ),
    Migration(
        version=4,
        name="the operator's host labels that selectors match",
        # Tags and racks for targeting come from here, set by operators (labels.py), never
        # from what an agent's samples claim of itself.
        sql="""
CREATE TABLE host_labels (
    host_id text PRIMARY KEY,
    tags jsonb NOT NULL DEFAULT '{}',
    rack text,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
CREATE INDEX host_labels_tags ON host_labels USING gin (tags jsonb_path_ops);
CREATE INDEX host_labels_rack ON host_labels (rack) WHERE rack IS NOT NULL;
""",
    ),
)

# Exactly what the commands service runs: commands queued, dispatched and finished (rows are
# never deleted), their events appended, the signing key read, and written once when there is
# none (no UPDATE or DELETE: a key, once made, stays). No other service's role may read it.
GRANTS: Final = Grants(
    tables={
        "commands": privileges("SELECT", "INSERT", "UPDATE"),
        "command_events": privileges("SELECT", "INSERT"),
        "signing_key": privileges("SELECT", "INSERT"),
        # The operator's host labels: set, replaced and removed through the service's API.
        "host_labels": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
    },
    sequences=("command_events.id",),
)


async def migrate(pool: asyncpg.Pool) -> list[int]:
    """Apply the commands' migrations this database lacks; their versions (maybe none)."""
    return await migrations.migrate(pool, COMPONENT, MIGRATIONS)


async def has_trigram_index(pool: asyncpg.Pool) -> bool:
    """Whether search is served by the pg_trgm index (for the health report)."""
    found = await pool.fetchval("SELECT to_regclass('commands_search') IS NOT NULL")
    return bool(found)
