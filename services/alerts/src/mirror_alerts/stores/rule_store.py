"""asyncpg access to alert rules: SQL constants and small functions, the defaults' seeding."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from mirror_alerts.defaults import default_rules
from mirror_alerts.rules import Rule, RuleError, decode_rule, rule_from_object
from mirror_runtime.pg import Conn

__all__ = [
    "DEFAULTS_BY",
    "RULES_CHANNEL",
    "DuplicateRuleError",
    "StoredRule",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_rules",
    "replace_rule",
    "seed_default_rules",
]

DEFAULTS_BY: Final = "defaults"  # created_by of the seeded default rules
# Every change of a rule is announced here, the rule's id as payload, on commit: replicas
# LISTEN and reload their rules, so a change made through one reaches every evaluator.
RULES_CHANNEL: Final = "alert_rules"
NOTIFY: Final = "SELECT pg_notify($1, $2)"

_COLUMNS: Final = "id, rule::text AS rule, created_at, updated_at, created_by, updated_by"
SELECT_RULES: Final = f"SELECT {_COLUMNS} FROM alert_rules ORDER BY id"  # noqa: S608
SELECT_RULE: Final = f"SELECT {_COLUMNS} FROM alert_rules WHERE id = $1"  # noqa: S608
INSERT_RULE: Final = f"""
INSERT INTO alert_rules (id, rule, created_at, updated_at, created_by, updated_by)
VALUES ($1, $2::jsonb, $3, $3, $4, $4)
ON CONFLICT (id) DO NOTHING
RETURNING {_COLUMNS}
"""  # noqa: S608
UPDATE_RULE: Final = f"""
UPDATE alert_rules SET rule = $2::jsonb, updated_at = $3, updated_by = $4
WHERE id = $1
RETURNING {_COLUMNS}
"""  # noqa: S608
DELETE_RULE: Final = "DELETE FROM alert_rules WHERE id = $1"
# Marks a default as seeded; returns a row only the first time, in this database's life.
MARK_SEEDED: Final = """
INSERT INTO alert_rule_defaults (rule_id, seeded_at) VALUES ($1, now())
ON CONFLICT (rule_id) DO NOTHING
RETURNING rule_id
"""
# A user rule that took a default's id before the default was seeded keeps it.
SEED_RULE: Final = """
INSERT INTO alert_rules (id, rule, created_at, updated_at, created_by, updated_by)
VALUES ($1, $2::jsonb, now(), now(), $3, $3)
ON CONFLICT (id) DO NOTHING
"""


class DuplicateRuleError(RuleError):
    """A rule with this ``id`` already exists (a conflict, not an invalid rule)."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(
            "id",
            f"a rule {rule_id!r} already exists; replace it "
            f"(PUT /api/alerts/rules/{rule_id}) or choose another id",
        )
        self.rule_id = rule_id


class StoredRule(msgspec.Struct, frozen=True, kw_only=True):
    """A rule as stored, with who created and last changed it, and when."""

    rule: Rule
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


def _json(rule: Rule) -> str:
    return msgspec.json.encode(rule).decode()


def _checked(rule: Rule) -> Rule:
    # A Struct built by hand is not validated: a round trip through builtins checks it all.
    return rule_from_object(msgspec.to_builtins(rule))


def _stored(row: asyncpg.Record) -> StoredRule:
    try:
        rule = decode_rule(row["rule"])
    except RuleError as exc:
        raise RuleError(
            exc.field,
            f"stored rule {row['id']!r} no longer validates: {exc.problem}; replace or delete it",
        ) from exc
    return StoredRule(
        rule=rule,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
    )


async def seed_default_rules(conn: Conn) -> list[str]:
    """Insert each default rule never seeded into this database; the ids inserted.

    Run at every start-up (after the migrations, under their lock): seeding is recorded in
    ``alert_rule_defaults``, so a default deleted by an operator does not come back.
    """
    seeded: list[str] = []
    async with conn.transaction():
        for rule in default_rules():
            if await conn.fetchval(MARK_SEEDED, rule.id) is None:
                continue
            await conn.execute(SEED_RULE, rule.id, _json(_checked(rule)), DEFAULTS_BY)
            await conn.execute(NOTIFY, RULES_CHANNEL, rule.id)
            seeded.append(rule.id)
    return seeded


async def list_rules(conn: Conn) -> list[StoredRule]:
    """Every rule, enabled or not, by id."""
    return [_stored(row) for row in await conn.fetch(SELECT_RULES)]


async def get_rule(conn: Conn, rule_id: str) -> StoredRule | None:
    """One rule; None if there is no such id."""
    row = await conn.fetchrow(SELECT_RULE, rule_id)
    return None if row is None else _stored(row)


async def create_rule(conn: Conn, rule: Rule, *, by: str, now: datetime) -> StoredRule:
    """Store a new rule; :class:`RuleError` if it is invalid, :class:`DuplicateRuleError` (a
    RuleError naming ``id``) if its id is taken."""
    checked = _checked(rule)
    async with conn.transaction():
        row = await conn.fetchrow(INSERT_RULE, checked.id, _json(checked), now, by)
        if row is not None:
            await conn.execute(NOTIFY, RULES_CHANNEL, checked.id)
    if row is None:
        raise DuplicateRuleError(checked.id)
    return _stored(row)


async def replace_rule(
    conn: Conn, rule_id: str, rule: Rule, *, by: str, now: datetime
) -> StoredRule | None:
    """Replace the rule ``rule_id`` with ``rule``; None if there is no such rule.

    :class:`RuleError` if ``rule`` is invalid or carries another id.
    """
    checked = _checked(rule)
    if checked.id != rule_id:
        raise RuleError(
            "id", f"{checked.id!r} differs from the rule replaced, {rule_id!r}; ids do not change"
        )
    async with conn.transaction():
        row = await conn.fetchrow(UPDATE_RULE, rule_id, _json(checked), now, by)
        if row is not None:
            await conn.execute(NOTIFY, RULES_CHANNEL, rule_id)
    return None if row is None else _stored(row)


async def delete_rule(conn: Conn, rule_id: str) -> bool:
    """Delete the rule ``rule_id``; False if there was none. A deleted default stays deleted."""
    async with conn.transaction():
        deleted = await conn.execute(DELETE_RULE, rule_id) == "DELETE 1"
        if deleted:
            await conn.execute(NOTIFY, RULES_CHANNEL, rule_id)
    return deleted
