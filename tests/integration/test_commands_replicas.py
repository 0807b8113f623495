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


async def statuses_and_dispatched_events(pool: asyncpg.Pool) -> tuple[list[str], int]:
    """The distinct statuses of every command, and how many `dispatched` events were logged."""
    statuses = await pool.fetch("SELECT DISTINCT status FROM commands ORDER BY status")
    events = await pool.fetchval("SELECT count(*) FROM command_events WHERE event = 'dispatched'")
    return [row["status"] for row in statuses], events


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
            sent = await asyncio.gather(
                *(r.dispatcher.dispatch_pending("web-01") for r in replicas)
            )
            assert sum(sent) == 40
            info = await js.stream_info(streams.COMMANDS.name)
            assert info.state.messages == 40
            last = await js.get_last_msg(
                streams.COMMANDS.name, subjects.commands_dispatch("web-01")
            )
            assert last.data is not None
            assert await statuses_and_dispatched_events(pool) == (["dispatched"], 40)
        finally:
            await nc.close()


def new_command(
    cid: str, host_id: str, priority: int, age: int, expires_in: int = 600
) -> store.NewCommand:
    return store.NewCommand(
        id=cid,
        host_id=host_id,
        hostname=host_id,
        command="true",
        priority=priority,
        timeout_seconds=30,
        created_at=NOW - timedelta(seconds=age),
        expires_at=NOW + timedelta(seconds=expires_in),
        requested_by="test",
    )


async def test_claim_orders_each_host_by_priority_then_age(pool: asyncpg.Pool) -> None:
    """Claimed by host, each host's highest priority first and among equals the oldest; an
    expired command is not claimed, nor one another dispatcher holds."""
    commands = [
        new_command("low-old", "web-01", 1, 100),
        new_command("high-new", "web-01", 9, 1),
        new_command("high-old", "web-01", 9, 50),
        new_command("expired", "web-01", 10, 200, expires_in=-1),
        new_command("mid", "web-01", 5, 10),
        new_command("db-only", "db-01", 0, 5),
        new_command("held", "db-01", 10, 5),
        new_command("other-host", "cache-01", 10, 5),
    ]
    async with pool.acquire() as conn:
        await store.insert_commands(conn, commands)
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT id FROM commands WHERE id = 'held' FOR UPDATE")
        async with pool.acquire() as conn, conn.transaction():
            claimed = await store.claim_pending(conn, ["web-01", "db-01"], NOW)
    assert [(r.host_id, r.id) for r in claimed] == [
        ("db-01", "db-only"),
        ("web-01", "high-old"),
        ("web-01", "high-new"),
        ("web-01", "mid"),
        ("web-01", "low-old"),
    ]


async def test_a_fan_out_is_dispatched_in_batches_once_each(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Two replicas dispatch the same fan-out of 600 hosts (several batches each) at once:
    one message and one `dispatched` event per host, every command marked with its sequence,
    and no host left waiting after a sweep."""
    hosts = [f"h{k:04d}" for k in range(600)]
    async with pool.acquire() as conn:
        await store.insert_commands(conn, [new_command(f"c-{h}", h, 5, 1) for h in hosts])
    async with own_nats_server(tmp_path / "nats") as url:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            await streams.ensure_streams(js)
            config = CommandsConfig(service=ServiceConfig(name="commands", http_port=1))
            key = new_signing_key()
            replicas = [CommandsApi(pool, nc, HostDirectory(), config, key) for _ in range(2)]
            for replica in replicas:
                replica.pending_hosts.update(hosts)
            sent = await asyncio.gather(*(r.dispatcher.dispatch_to(hosts) for r in replicas))
            assert sum(sent) == len(hosts)
            info = await js.stream_info(streams.COMMANDS.name)
            assert info.state.messages == len(hosts)
            assert await statuses_and_dispatched_events(pool) == (["dispatched"], len(hosts))
            seqs = await pool.fetch("SELECT dispatch_seq FROM commands ORDER BY dispatch_seq")
            assert [r["dispatch_seq"] for r in seqs] == list(range(1, len(hosts) + 1))
            # The replica that found the commands locked keeps the hosts until its sweep
            # reads that nothing is pending any more.
            for replica in replicas:
                await replica.sweep()
                assert not replica.pending_hosts
        finally:
            await nc.close()


async def test_a_failed_publish_leaves_the_command_pending(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """With no COMMANDS stream to take them, nothing is marked dispatched and the host's two
    commands stay pending for the next try, which sends both in order."""
    async with pool.acquire() as conn:
        await store.insert_commands(
            conn, [new_command("first", "web-01", 9, 5), new_command("second", "web-01", 1, 5)]
        )
    async with own_nats_server(tmp_path / "nats") as url:
        nc = await nats.connect(url)
        try:
            config = CommandsConfig(service=ServiceConfig(name="commands", http_port=1))
            api = CommandsApi(pool, nc, HostDirectory(), config, new_signing_key())
            js = nc.jetstream()
            await js.delete_stream(streams.COMMANDS.name)
            assert await api.dispatcher.dispatch_pending("web-01") == 0
            assert await statuses_and_dispatched_events(pool) == (["pending"], 0)
            assert api.pending_hosts == {"web-01"}
            await streams.ensure_streams(js)
            assert await api.dispatcher.dispatch_pending("web-01") == 2
            async with pool.acquire() as conn:
                order = await conn.fetch("SELECT id FROM commands ORDER BY dispatch_seq")
            assert [r["id"] for r in order] == ["first", "second"]
            assert not api.pending_hosts
        finally:
            await nc.close()
