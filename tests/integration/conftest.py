"""Fixtures of the integration tests: services as deployed, each on servers of its own, and
the cleanup of the prefixed streams a test made on the shared server.

The code that starts each service lives in the *_helpers modules beside this one; the
fixtures here only open it for a test and close it after. A module's own fixture of the same
name wins over one of these.
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import nats
import nats.errors
import nats.js.errors
import pytest
import pytest_asyncio
from agent_helpers import AgentProcess, write_agent_config
from alerts_helpers import FAST_ENV, AlertsStack, running_alerts
from auth_http_helpers import (
    Certificates,
    Guarded,
    GuardedServices,
    guest,
    issue_certificates,
    running_guarded,
)
from commands_helpers import Stack, running_commands
from nats_auth_helpers import Secured, secured_nats_server
from twin_helpers import own_nats_server

from mirror_agent.commands.loop import consumer_name
from mirror_alerts.migrations import migrate
from mirror_runtime.pg import Conn
from mirror_schema import streams
from servers import NatsServer, PostgresServer


@pytest_asyncio.fixture(autouse=True)
async def delete_test_streams(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[None]:
    """After a test, delete the `T<unique>_*` streams it created with ensure_streams(prefix=).

    Every stream reserves its max_bytes of the server's storage, so copies left behind by
    earlier tests would end in "insufficient storage resources".
    """
    yield
    if "nats_server" not in request.fixturenames:
        return
    server: NatsServer = request.getfixturevalue("nats_server")
    prefix = f"T{unique}_"
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(prefix):
                await js.delete_stream(name.config.name)
    except (nats.errors.Error, nats.js.errors.Error):
        pass
    finally:
        await nc.close()


@pytest_asyncio.fixture
async def host_id(nats_server: NatsServer, unique: str) -> AsyncIterator[str]:
    """A host id of this test alone, with the streams in place; its consumer goes after."""
    nc = await nats.connect(nats_server.url)
    await streams.ensure_streams(nc.jetstream())
    host = f"cmd-{unique}"
    yield host
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_consumer(streams.COMMANDS.name, consumer_name(host))
    await nc.close()


@pytest_asyncio.fixture
async def agent_factory(
    nats_server: NatsServer, host_id: str, tmp_path: Path
) -> AsyncIterator[Callable[[str], AgentProcess]]:
    """Make agent processes for this host with a given `[commands]` body; stopped after."""
    made: list[AgentProcess] = []

    def make(commands: str) -> AgentProcess:
        config = write_agent_config(tmp_path / "agent.toml", nats_server.url, host_id, commands)
        agent = AgentProcess(config, tmp_path / "agent.log")
        made.append(agent)
        return agent

    yield make
    for agent in made:
        await agent.stop()


@pytest_asyncio.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a nats-server of this test's own: a service's durable consumer and its
    streams are then its alone."""
    async with own_nats_server(tmp_path / "nats") as url:
        yield url


@pytest_asyncio.fixture
async def alerts(tmp_path: Path, database: str) -> AsyncIterator[AlertsStack]:
    """The service on a nats-server of its own (the METRICS stream and consumer are its)."""
    async with running_alerts(tmp_path, database, FAST_ENV) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def refusing_alerts(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> AsyncIterator[AlertsStack]:
    """One alerts service (on a database of its own) shared by a module's tests of refused
    requests: a refusal changes nothing (and each such test checks that nothing was stored),
    so they need no fresh service each. A test using it runs on the module's event loop
    (`@pytest.mark.asyncio(loop_scope="module")`)."""
    async with (
        postgres_server.fresh_database() as database,
        running_alerts(tmp_path_factory.mktemp("alerts"), database, FAST_ENV) as stack,
    ):
        yield stack


@pytest_asyncio.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the alerts' schema and default rules."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        await migrate(pool)
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    """A connection of `pool`, for the alerts store's functions."""
    async with pool.acquire() as conn:
        yield conn


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def guarded_services(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> AsyncIterator[GuardedServices]:
    """The commands service and a twin with logins on, host web-1 known, for a module's tests
    (which run on the module's event loop: `pytest.mark.asyncio(loop_scope="module")`)."""
    async with (
        postgres_server.fresh_database() as database,
        running_guarded(tmp_path_factory.mktemp("guarded"), database) as services,
    ):
        yield services


@pytest_asyncio.fixture(loop_scope="module")
async def guarded(guarded_services: GuardedServices) -> Guarded:
    """This test's users vera-N (viewer) and otto-N (operator), token ci-N (operator) and
    client address 127.0.0.N on the module's guarded services: nothing it does reaches
    another test."""
    return await guest(guarded_services)


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    """A private CA and a certificate for 127.0.0.1 signed by it."""
    return issue_certificates(tmp_path)


@pytest_asyncio.fixture
async def stack(tmp_path: Path, database: str) -> AsyncIterator[Stack]:
    """The commands service on a nats-server of its own (its durable consumer is then its
    alone)."""
    async with running_commands(tmp_path, database) as stack:
        yield stack


@pytest_asyncio.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    """A nats-server with authorization on, its streams made by the admin; stopped after."""
    async with secured_nats_server(tmp_path) as state:
        yield state
