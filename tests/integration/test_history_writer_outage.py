"""The history writer through a PostgreSQL outage: it holds what it fetched and tries again,
spending none of a message's deliveries, so an outage of any length sends no acknowledged
sample to the dead letters. A PostgreSQL of the test's own, really stopped (fast shutdown)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import nats.aio.client
import nats.js.errors
import pytest_asyncio
from test_history_writer import (  # noqa: F401 - js: the writer tests' fixture, used by name
    Running,
    fleet_samples,
    js,
    make_writer,
    migrated_pool,
    publish,
    row_count,
)

from mirror_schema import streams
from servers import StoppablePostgres, stoppable_postgres
from waiting import wait_until

HOSTS = 20
TICKS = 5
# Short, so that a pause between tries (capped at half of it) held without keeping the
# messages in progress would see them redelivered.
ACK_WAIT_SECONDS = 4.0


@pytest_asyncio.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[StoppablePostgres]:
    (tmp_path / "pg").mkdir()
    async with stoppable_postgres(tmp_path / "pg") as server:
        yield server


@pytest_asyncio.fixture
async def pool(postgres: StoppablePostgres) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(postgres.server.dsn) as pool:
        yield pool


async def _rows(pool: asyncpg.Pool, expected: int) -> bool:
    return await row_count(pool) == expected


async def test_an_outage_spends_no_delivery_and_every_sample_is_written_once_it_ends(
    nc: nats.aio.client.Client,
    js: nats.js.JetStreamContext,  # noqa: F811 - the fixture imported above
    pool: asyncpg.Pool,
    postgres: StoppablePostgres,
    unique: str,
) -> None:
    running = Running(make_writer(nc, pool, unique, batch_size=40, ack_wait=ACK_WAIT_SECONDS))
    try:
        await publish(js, unique, fleet_samples(1, 1, seed=3), tag="before")
        await wait_until(
            lambda: _rows(pool, 1), timeout=30, what="the writer writing before the outage"
        )
        await postgres.stop()
        await publish(js, unique, fleet_samples(HOSTS, TICKS))
        await wait_until(
            lambda: running.writer.failed_writes() >= 3, timeout=60, what="failed writes in a row"
        )
        await asyncio.sleep(1.5 * ACK_WAIT_SECONDS)  # the outage's length: past the ack wait
        consumer = await js.consumer_info(f"T{unique}_METRICS", streams.CONSUMER_HISTORY)
        assert consumer.num_redelivered == 0, consumer
        await postgres.start()

        async def written() -> bool:
            try:
                return await row_count(pool) == HOSTS * TICKS + 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return False  # the pool's connections from before the stop

        await wait_until(written, timeout=60, what="every sample written after the outage")

        async def settled() -> bool:
            # The acks follow the commit that the rows came from: a moment after them.
            info = await js.consumer_info(f"T{unique}_METRICS", streams.CONSUMER_HISTORY)
            return info.num_ack_pending == 0

        await wait_until(settled, timeout=30, what="every written sample acknowledged")
        consumer = await js.consumer_info(f"T{unique}_METRICS", streams.CONSUMER_HISTORY)
        assert consumer.num_redelivered == 0, consumer
        dead = await js.stream_info(f"T{unique}_DEADLETTER")
        assert dead.state.messages == 0
    finally:
        await running.close()
