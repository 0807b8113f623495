"""The commands service's storage and dispatch against real PostgreSQL and NATS, in-process:
migrations are idempotent, transitions only move forward, and two replicas dispatching the
same host publish each command once."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats
import pytest_asyncio
from twin_helpers import own_nats_server

from mirror_commands import store
from mirror_commands.config import CommandsConfig
from mirror_commands.directory import HostDirectory
from mirror_commands.migrations import migrate
from mirror_commands.operations import CommandsApi
from mirror_runtime.config import ServiceConfig
from mirror_schema import streams, subjects
from mirror_schema.command_signing import new_signing_key
from mirror_schema.commands import CommandRequest, CommandState

NOW = datetime.now(UTC)


@pytest_asyncio.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the commands schema."""
    connections = await asyncpg.create_pool(database, min_size=1, max_size=6)
    assert await migrate(connections) == [1, 2, 3, 4]
    yield connections
    await connections.close()


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    """A second start applies nothing and the version table says what was applied."""
    assert await migrate(pool) == []
    rows = await pool.fetch(
        "SELECT version FROM schema_migrations WHERE component = 'commands' ORDER BY version"
    )
    assert [r["version"] for r in rows] == [1, 2, 3, 4]


async def test_transitions_only_move_forward_in_sql(pool: asyncpg.Pool) -> None:
    """A final command ignores a late running; a result of another host's agent is refused."""
    command = store.NewCommand(
        id="c-forward",
        host_id="web-01",
        hostname="web-01",
        command="true",
        priority=5,
        timeout_seconds=30,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        requested_by="test",
    )
    async with pool.acquire() as conn:
        await store.insert_commands(conn, [command])
        moved = await store.move(conn, "c-forward", CommandState.RUNNING, started_at=NOW)
        assert moved is not None
        assert moved.previous is CommandState.PENDING
        assert await store.move(conn, "c-forward", CommandState.FAILED, host_id="db-01") is None
        done = await store.move(conn, "c-forward", CommandState.SUCCEEDED, exit_code=0)
        assert done is not None
        assert done.previous is CommandState.RUNNING
        assert await store.move(conn, "c-forward", CommandState.RUNNING) is None
        record = await store.fetch_command(conn, "c-forward", events=True)
    assert record is not None
    assert (record.status, record.exit_code) == (CommandState.SUCCEEDED, 0)
    assert [e.event for e in record.events] == ["created"]


async def test_two_replicas_dispatch_each_command_once(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Both replicas dispatch one host's 40 pending commands at once: 40 messages, no more."""
    async with own_nats_server(tmp_path / "nats") as url:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            await streams.ensure_streams(js)
            directory = HostDirectory()
            # Offline while the commands are created, so they wait as pending.
            directory.observe(
                "web-01", "web-01", tags={}, rack=None, seen_at=NOW - timedelta(hours=1)
            )
            config = CommandsConfig(service=ServiceConfig(name="commands", http_port=1))
            key = new_signing_key()
            replicas = [CommandsApi(pool, nc, directory, config, key) for _ in range(2)]
            for k in range(40):
                request = CommandRequest(hostname="web-01", command=f"c{k}", priority=k % 11)
                (record,) = await replicas[k % 2].create(request, "test")
                assert record.status is CommandState.PENDING
            sent = await asyncio.gather(*(r.dispatch_pending("web-01") for r in replicas))
            assert sum(sent) == 40
            info = await js.stream_info(streams.COMMANDS.name)
            assert info.state.messages == 40
            last = await js.get_last_msg(
                streams.COMMANDS.name, subjects.commands_dispatch("web-01")
            )
            assert last.data is not None
            async with pool.acquire() as conn:
                statuses = await conn.fetch("SELECT DISTINCT status FROM commands")
                events = await conn.fetchval(
                    "SELECT count(*) FROM command_events WHERE event = 'dispatched'"
                )
            assert [r["status"] for r in statuses] == ["dispatched"]
            assert events == 40
        finally:
            await nc.close()
