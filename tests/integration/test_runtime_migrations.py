"""migrate(): versioned schema changes on a real PostgreSQL. Each applies once, in the order
given, in a transaction of its own; replicas starting together apply it once between them."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from mirror_runtime.migrations import LOCK_CLASS, MIGRATION_LOCK, Migration, migrate
from mirror_runtime.pg import Conn

CREATE = Migration(version=1, name="create", sql="CREATE TABLE items (id integer PRIMARY KEY)")
WIDEN = Migration(version=2, name="widen", sql="ALTER TABLE items ADD COLUMN label text")
SEED = Migration(version=3, name="seed", sql="INSERT INTO items (id, label) VALUES (1, 'one')")


@pytest_asyncio.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh, empty database (no schema_migrations yet)."""
    made = await asyncpg.create_pool(database, min_size=1, max_size=2)
    yield made
    await made.close()


async def recorded(pool: asyncpg.Pool, component: str = "test") -> list[tuple[int, str]]:
    rows = await pool.fetch(
        "SELECT version, name FROM schema_migrations WHERE component = $1 ORDER BY version",
        component,
    )
    return [(row["version"], row["name"]) for row in rows]


async def test_migrations_apply_in_order_and_are_recorded(pool: asyncpg.Pool) -> None:
    """On an empty database every migration runs, each after the one before it."""
    assert await migrate(pool, "test", [CREATE, WIDEN, SEED]) == [1, 2, 3]
    assert await pool.fetchval("SELECT label FROM items WHERE id = 1") == "one"
    assert await recorded(pool) == [(1, "create"), (2, "widen"), (3, "seed")]


async def test_a_second_run_applies_nothing_and_a_new_migration_alone(pool: asyncpg.Pool) -> None:
    """Applied migrations are never run again (the seed would fail on its key); a migration
    added later is the only one applied."""
    await migrate(pool, "test", [CREATE, WIDEN])
    assert await migrate(pool, "test", [CREATE, WIDEN]) == []
    assert await migrate(pool, "test", [CREATE, WIDEN, SEED]) == [3]
    assert await migrate(pool, "test", [CREATE, WIDEN, SEED]) == []
    assert await pool.fetchval("SELECT count(*) FROM items") == 1


async def test_a_failing_migration_leaves_nothing_behind_and_stops_the_rest(
    pool: asyncpg.Pool,
) -> None:
    """A migration is all or nothing: its first statement is rolled back with the failing one,
    it is not recorded, the ones after it do not run, and a fixed version applies later."""
    broken = Migration(
        version=2,
        name="widen",
        sql="CREATE TABLE half_done (id integer); ALTER TABLE items ADD COLUMN label no_such_type",
    )
    with pytest.raises(asyncpg.UndefinedObjectError):
        await migrate(pool, "test", [CREATE, broken, SEED])
    assert await recorded(pool) == [(1, "create")]
    assert await pool.fetchval("SELECT to_regclass('half_done')") is None
    assert await migrate(pool, "test", [CREATE, WIDEN, SEED]) == [2, 3]


async def test_components_keep_their_own_versions(pool: asyncpg.Pool) -> None:
    """Services share the database: version 1 of one component is not version 1 of another."""
    other = Migration(version=1, name="other", sql="CREATE TABLE other_items (id integer)")
    await migrate(pool, "test", [CREATE])
    assert await migrate(pool, "other", [other]) == [1]
    assert await recorded(pool, "other") == [(1, "other")]
    assert await recorded(pool, "test") == [(1, "create")]


async def test_the_after_hook_runs_under_the_lock_even_with_nothing_to_apply(
    pool: asyncpg.Pool, database: str
) -> None:
    """`after` (grants, for instance) runs every time, while the migration lock is held: no
    other session can take it meanwhile."""
    held: list[bool] = []

    async def after(conn: Conn) -> None:
        other = await asyncpg.connect(database)
        try:
            taken = await other.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, MIGRATION_LOCK
            )
        finally:
            await other.close()
        held.append(not taken)

    await migrate(pool, "test", [CREATE], after=after)
    await migrate(pool, "test", [CREATE], after=after)
    assert held == [True, True]


async def test_the_lock_is_released_even_when_a_migration_fails(
    pool: asyncpg.Pool, database: str
) -> None:
    """A failed start must not leave every later start waiting for the lock."""
    broken = Migration(version=1, name="broken", sql="SELECT no_such_column FROM nowhere")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(pool, "test", [broken])
    other = await asyncpg.connect(database)
    try:
        assert await other.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, MIGRATION_LOCK
        )
    finally:
        await other.close()


async def test_replicas_starting_together_apply_each_migration_once(database: str) -> None:
    """Three pools migrating at the same moment: one applies, the others find it done."""
    pools = [await asyncpg.create_pool(database, min_size=1, max_size=1) for _ in range(3)]
    try:
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(migrate(replica, "test", [CREATE, WIDEN, SEED]) for replica in pools)
            )
        assert sorted(results) == [[], [], [1, 2, 3]]
        assert await pools[0].fetchval("SELECT count(*) FROM items") == 1
    finally:
        for replica in pools:
            await replica.close()
