"""Versioned, idempotent schema migrations, applied by each service to the shared database."""

from collections.abc import Awaitable, Callable, Sequence
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
            await conn.execute(VERSION_TABLE)
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
                    await conn.execute(migration.sql)
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
