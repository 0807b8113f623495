"""Versioned, idempotent schema migrations, applied to the shared database by whoever holds
the schema: the stack's owner role (mirror_stage.database), or a service connected as a role
that may create tables (a single service on a database of its own, as in the tests).

Each component also says what a service's least-privileged role may do with its objects
(`Grants`): the stack's setup grants exactly that, so a service started with its own role
finds everything applied and its migrate() is a no-op that needs no CREATE.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import asyncpg
import msgspec
import structlog

from mirror_runtime.pg import Conn

log = structlog.get_logger()

# pg_advisory_lock(key1, key2): key1 names this project's locks, key2 the purpose. Every
# component migrates under the same key, so that two services creating the shared
# schema_migrations table at once do not collide.
LOCK_CLASS: Final = 0x4D53  # "MS"
MIGRATION_LOCK: Final = 1


class Migration(msgspec.Struct, frozen=True, kw_only=True):
    """One schema change; applied once, in its own transaction, recorded by version."""

    version: int
    name: str
    sql: str


# Several services share one database: the table is keyed by component as well as version.
VERSION_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""

# Work to do under the migration lock once the migrations are applied.
AfterMigrations = Callable[[Conn], Awaitable[None]]

# The table privileges a grant may name: data only, never TRUNCATE, REFERENCES or TRIGGER.
TABLE_PRIVILEGES: Final = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})


class MigrationError(RuntimeError):
    """A migration this database lacks cannot be applied by the connected role."""


@dataclass(frozen=True, kw_only=True)
class Grants:
    """What a service's role may do with one component's objects: exactly the statements the
    service runs. Tables map to their privileges; `sequences` are the serial columns it
    inserts through (`table.column`, USAGE); `functions` are signatures it may EXECUTE."""

    tables: Mapping[str, frozenset[str]] = field(default_factory=dict)
    sequences: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for table, privileges in self.tables.items():
            if not privileges or not privileges <= TABLE_PRIVILEGES:
                raise ValueError(f"{table}: privileges must be some of {sorted(TABLE_PRIVILEGES)}")


def privileges(*names: str) -> frozenset[str]:
    """`privileges("SELECT", "INSERT")`: a table's entry in Grants.tables."""
    return frozenset(names)


# Every role that runs migrate() reads which versions are applied, and nothing else of it.
VERSION_GRANTS: Final = Grants(tables={"schema_migrations": privileges("SELECT")})


async def migrate(
    pool: asyncpg.Pool,
    component: str,
    migrations: Sequence[Migration],
    *,
    after: AfterMigrations | None = None,
) -> list[int]:
    """Apply the migrations of `component` this database lacks; their versions (maybe none).

    Replicas starting together serialise on an advisory lock, so each migration runs once.
    """
    applied: list[int] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, MIGRATION_LOCK)
        try:
            # CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when the table is
            # there, which a service's own role has not.
            if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
                try:
                    await conn.execute(VERSION_TABLE)
                except asyncpg.InsufficientPrivilegeError as exc:
                    raise MigrationError(
                        "this database has no migrations and this role may not make them "
                        f"({exc}): run `mirror-stage db migrate` first"
                    ) from exc
            done = {
                row["version"]
                for row in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1", component
                )
            }
            for migration in migrations:
                if migration.version in done:
                    continue
                async with conn.transaction():
                    try:
                        await conn.execute(migration.sql)
                    except asyncpg.InsufficientPrivilegeError as exc:
                        raise MigrationError(
                            f"{component} migration {migration.version} ({migration.name}) is "
                            f"not applied and this role may not change the schema ({exc}): "
                            "apply it as the owner with `mirror-stage db migrate` (mirror-stage "
                            "up does so at every start)"
                        ) from exc
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name) "
                        "VALUES ($1, $2, $3)",
                        component,
                        migration.version,
                        migration.name,
                    )
                applied.append(migration.version)
                log.info("migration.applied", component=component, version=migration.version)
            if after is not None:
                await after(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, MIGRATION_LOCK)
    return applied
