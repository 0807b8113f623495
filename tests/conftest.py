"""Shared by every test: real servers for the integration and e2e tests, and a marker per test
for its kind (unit, integration or e2e), taken from its folder."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.aio.client
import pytest
import pytest_asyncio

from ordering import LONGEST_FIRST
from servers import (
    NatsServer,
    PostgresServer,
    docker_nats,
    docker_postgres,
    docker_requested,
    embedded_nats,
    embedded_postgres,
)

TESTS = Path(__file__).parent
KINDS = ("unit", "integration", "e2e")  # also the folders under tests/, and pyproject's markers


# tryfirst: the markers must be on before `-m` deselects by them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its kind, the folder it lives in: `pytest -m unit` and so on; and
    put the longest files first (a stable sort: each file's tests keep their order)."""
    for item in items:
        if item.path.is_relative_to(TESTS):
            kind = item.path.relative_to(TESTS).parts[0]
            if kind in KINDS:
                item.add_marker(kind)
    rank = {TESTS / name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def nats_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NatsServer]:
    """One real nats-server with JetStream for the session; tests keep apart by unique names."""
    base = tmp_path_factory.mktemp("nats")
    backend = docker_nats() if docker_requested() else embedded_nats(base)
    async with backend as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[PostgresServer]:
    """One real PostgreSQL for the session; each test gets its own database."""
    base = tmp_path_factory.mktemp("postgres")
    backend = docker_postgres() if docker_requested() else embedded_postgres(base)
    async with backend as server:
        yield server


@pytest_asyncio.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[nats.aio.client.Client]:
    """A NATS connection for one test, closed after it."""
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


@pytest.fixture
def unique() -> str:
    """A token that makes stream, subject and database names unique to one test."""
    return uuid.uuid4().hex[:10]


@pytest_asyncio.fixture
async def database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The DSN of a fresh, empty database, dropped after the test."""
    async with postgres_server.fresh_database() as dsn:
        yield dsn
