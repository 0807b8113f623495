"""Versioned, idempotent schema migrations of the alerts service, and its default rules."""

from typing import Final

import asyncpg
import structlog

from mirror_alerts.stores import rule_store
from mirror_runtime import migrations
from mirror_runtime.migrations import Grants, Migration, privileges
from mirror_runtime.pg import Conn

log = structlog.get_logger()

COMPONENT: Final = "alerts"

MIGRATIONS: Final = (
    Migration(
        version=1,
        name="rules, alerts and their events, silences, evaluator snapshots",
        sql="""
-- One row per rule; `rule` is msgspec.to_builtins(rule), read back through the rules module.
CREATE TABLE alert_rules (
    id text PRIMARY KEY,
    rule jsonb NOT NULL CHECK (rule ->> 'id' = id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    created_by text NOT NULL,
    updated_by text NOT NULL
);
-- The default rules ever seeded: a default is inserted only if its id is not here, so one an
-- operator deleted stays deleted, and one a later release adds is seeded once on upgrade.
CREATE TABLE alert_rule_defaults (
    rule_id text PRIMARY KEY,
    seeded_at timestamptz NOT NULL
);
CREATE TABLE alerts (
    alert_id text PRIMARY KEY,
    rule_id text NOT NULL,
    host_id text NOT NULL,
    resource text NOT NULL,
    metric text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    value double precision,
    threshold double precision,
    message text NOT NULL,
    fired_at timestamptz NOT NULL,
    acknowledged_by text,
    acknowledged_at timestamptz,
    resolved_at timestamptz,
    duration_seconds double precision CHECK (duration_seconds >= 0)
);
-- What the HUD and the evaluator's cross-check read: open alerts are few.
CREATE INDEX alerts_active ON alerts (fired_at DESC, alert_id DESC)
    WHERE state <> 'resolved';
CREATE INDEX alerts_active_key ON alerts (rule_id, host_id, resource)
    WHERE state <> 'resolved';
CREATE INDEX alerts_fired ON alerts (fired_at DESC, alert_id DESC);
CREATE INDEX alerts_host_fired ON alerts (host_id, fired_at DESC, alert_id DESC);
CREATE INDEX alerts_state_fired ON alerts (state, fired_at DESC, alert_id DESC);
-- One row per applied AlertChange: the alert's history.
CREATE TABLE alert_events (
    id bigserial PRIMARY KEY,
    alert_id text NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN ('fired', 'acknowledged', 'resolved')),
    state text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    actor text NOT NULL,
    value double precision,
    message text NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);
CREATE TABLE silences (
    id text PRIMARY KEY,
    matchers jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL CHECK (ends_at >= starts_at),  -- equal: expired before start
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    comment text NOT NULL DEFAULT ''
);
CREATE INDEX silences_ends ON silences (ends_at);
-- One row per evaluator: `evaluator` names what it evaluates (one name while one evaluator
-- runs; one per shard if hosts are ever split), never a replica's own id, so a replacement
-- replica finds the row its predecessor saved.
CREATE TABLE evaluator_snapshot (
    evaluator text PRIMARY KEY,
    snapshot jsonb NOT NULL,
    saved_at timestamptz NOT NULL
);
""",
    ),
    Migration(
        version=2,
        name="the METRICS stream position each evaluator snapshot covers",
        sql="""
-- The stream sequence of the last sample the snapshot covers: a new leader resumes after it.
ALTER TABLE evaluator_snapshot ADD COLUMN position bigint NOT NULL DEFAULT 0
    CHECK (position >= 0);
""",
    ),
    Migration(
        version=3,
        name="each notification receiver's latest delivery",
        sql="""
-- One row per receiver, overwritten by each delivery: GET /api/alerts/receivers shows it.
CREATE TABLE receiver_deliveries (
    receiver text PRIMARY KEY,
    at timestamptz NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('sent', 'rejected', 'gave_up', 'crashed')),
    attempts integer NOT NULL CHECK (attempts >= 0),
    status integer,
    error text,
    kind text NOT NULL,
    rule_id text NOT NULL,
    host_id text NOT NULL
);
""",
    ),
    Migration(
        version=4,
        name="how far the ALERTS stream's events are stored",
        sql="""
-- The leader publishes each change first and stores it from the stream after (alerts go on
-- through a database outage): the stream sequence stored up to, moved in the same
-- transaction as the events it covers, so each is stored once.
CREATE TABLE alert_event_position (
    stream text PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0)
);
""",
    ),
)

# Exactly what the alerts service runs: rules edited through its API (and the defaults seeded
# once), alerts fired, acknowledged and resolved with their events, silences made and
# expired, the evaluator's snapshot and each receiver's latest delivery upserted, and how far
# the stream's events are stored.
GRANTS: Final = Grants(
    tables={
        "alert_rules": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "alert_rule_defaults": privileges("SELECT", "INSERT"),
        "alerts": privileges("SELECT", "INSERT", "UPDATE"),
        "alert_events": privileges("SELECT", "INSERT"),
        "silences": privileges("SELECT", "INSERT", "UPDATE"),
        "evaluator_snapshot": privileges("SELECT", "INSERT", "UPDATE"),
        "receiver_deliveries": privileges("SELECT", "INSERT", "UPDATE"),
        "alert_event_position": privileges("SELECT", "INSERT", "UPDATE"),
    },
    sequences=("alert_events.id",),
)


async def migrate(pool: asyncpg.Pool) -> list[int]:
    """Apply the alerts' migrations this database lacks, then seed the default rules never
    seeded before; the versions applied (maybe none)."""
    return await migrations.migrate(pool, COMPONENT, MIGRATIONS, after=_seed)


async def _seed(conn: Conn) -> None:
    seeded = await rule_store.seed_default_rules(conn)
    if seeded:
        log.info("alerts.defaults_seeded", rule_ids=seeded)
