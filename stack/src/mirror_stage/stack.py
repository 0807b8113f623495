"""run_stack(): NATS, PostgreSQL, every service and the agent, supervised until a stop signal."""

import asyncio
import dataclasses
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import structlog

from mirror_agent.simulate import DEFAULT_INTERVAL_SECONDS as SIMULATE_INTERVAL_SECONDS
from mirror_schema import hosts
from mirror_schema.nats_credentials import credential_options, server_urls
from mirror_schema.stream_rebuild import RebuildError
from mirror_scrape.targets import TargetsError
from mirror_stage.cluster_adoption import export_single_server
from mirror_stage.database import (
    DatabaseSetupError,
    PreparedDatabase,
    database_passwords_dir,
    prepare_database,
)
from mirror_stage.enrollment import ensure_stack_identities, write_users
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import ADMIN, IdentityConflictError, IdentityStore, agent_name
from mirror_stage.local_agent import signing_public_key, write_agent_config
from mirror_stage.nats_accounts import STAGE_ACCOUNT, accounts_block
from mirror_stage.natsd import (
    SERVER_NAME,
    NatsServerNotFoundError,
    OldStoreError,
    adopt_default_account_store,
    cluster_block,
    nats_spec,
    route_credentials,
)
from mirror_stage.operators import first_admin_line, remember_database
from mirror_stage.parts import (
    SERVICES,
    agent_spec,
    child_environment,
    enroller_spec,
    service_spec,
    simulator_spec,
)
from mirror_stage.ports import free_port, port_is_free
from mirror_stage.postgres import (
    PostgresSetupError,
)
from mirror_stage.scrape_part import (
    allow_scrape_hosts,
    follow_targets,
    scrape_host_ids,
    scrape_spec,
)
from mirror_stage.stack_database import announce, start_database
from mirror_stage.stack_errors import StackError
from mirror_stage.stack_layout import StackLayout, busy_ports
from mirror_stage.stream_setup import ensure_streams_when_ready
from mirror_stage.supervisor import PartFailedError, PartSpec, Supervised

log = structlog.get_logger()

A = TypeVar("A")
B = TypeVar("B")

CLUSTER_REPLICAS = 3  # copies of each stream in a cluster


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run two steps at once and return both results. When one fails, the other is cancelled
    (and awaited) and the failure is raised as it is, not wrapped in an ExceptionGroup: the
    launcher reports StackError and the like by their own message."""
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        await asyncio.wait({one, two}, return_when=asyncio.FIRST_EXCEPTION)
        for task in (one, two):
            error = task.exception() if task.done() else None
            if error is not None:
                raise error
        return one.result(), two.result()
    finally:
        for task in (one, two):
            task.cancel()
        await asyncio.gather(one, two, return_exceptions=True)


def node_name(node: int) -> str:
    """The part name (and log file) of NATS node `node`: `nats` alone or first, then nats-2..."""
    return "nats" if node == 1 else f"nats-{node}"


@dataclass(frozen=True, kw_only=True)
class StackOptions:
    """The flags of `mirror-stage up`."""

    simulate: int = 0
    simulate_interval: float = SIMULATE_INTERVAL_SECONDS
    agent: bool = True
    cluster: int = 1  # nats-server nodes; 3 or more make a cluster with streams at 3 replicas
    replicas: int = 1  # processes of each service
    scrape: Path | None = None  # a file_sd targets file: node_exporters read by the scraper
    scrape_interval: float = 5.0


class Stack:
    """The running parts, in start order; stopped in reverse."""

    def __init__(self, layout: StackLayout, options: StackOptions) -> None:
        self.layout = layout
        self.options = options
        self.parts: list[Supervised] = []
        self.db_url: str | None = None
        # What to tell about logins: the first admin's one-time password, or how to add one.
        self.logins = ""
        # What runs beside the parts for as long as they do (the scraper's targets file).
        self.followers: list[Coroutine[None, None, None]] = []

    def _supervise(self, spec: PartSpec) -> Supervised:
        part = Supervised(spec, on_ready=self._on_ready)
        self.parts.append(part)
        return part

    def _on_ready(self, part: Supervised) -> None:
        if part.restarts == 0 and part.process is not None:
            announce(part.spec.name, part.spec.address)

    async def start(self) -> None:
        """Start every part in dependency order; raise StackError or PartFailedError on failure."""
        layout = self.layout
        taken = busy_ports(layout, port_is_free)
        if taken:
            raise StackError(
                f"port(s) already in use: {', '.join(taken)}; is another stack running? "
                "Set those variables to free ports to run a second one beside it."
            )
        layout.logs_dir.mkdir(parents=True, exist_ok=True)
        host_id = hosts.host_id_from_hostname(socket.gethostname())
        store = self._identities(host_id)
        admin = store.ensure(ADMIN, "admin")
        nodes = self.options.cluster
        client_ports = [layout.nats_port, *(free_port() for _ in range(nodes - 1))]
        layout = self.layout = dataclasses.replace(
            layout, nats_other_urls=tuple(f"nats://127.0.0.1:{p}" for p in client_ports[1:])
        )
        write_users(layout, layout.nats_server_settings(accounts_block(list(store.users()))))
        for node in range(1, nodes + 1):
            try:
                adopt_default_account_store(
                    layout.nats_node_store_dir(node), STAGE_ACCOUNT, clustered=nodes > 1
                )
            except OldStoreError as exc:
                raise StackError(str(exc)) from None
        route_ports = [free_port() for _ in range(nodes)] if nodes > 1 else []
        # Routes only between the stack's own nodes: each requires the others' secret.
        routes = route_credentials(layout.nats_route_credentials_path) if nodes > 1 else None

        def node_spec(node: int, clustered: bool = nodes > 1) -> PartSpec:
            others = [port for i, port in enumerate(route_ports) if i != node - 1]
            spec = nats_spec(
                host=layout.nats_host,
                port=client_ports[node - 1],
                store_dir=layout.nats_node_store_dir(node),
                log_path=layout.logs_dir / f"{node_name(node)}.log",
                server_name=SERVER_NAME if node == 1 else f"{SERVER_NAME}-{node}",
                sync_interval=layout.nats_sync_interval,
                include=layout.nats_users_path.name,
                cluster=cluster_block(SERVER_NAME, route_ports[node - 1], others, routes)
                if clustered
                else None,
                probe_seed=admin.seed,
                probe_ca_file=layout.tls_ca_file,
            )
            return dataclasses.replace(spec, name=node_name(node))

        if nodes > 1:
            # A data dir that ran as a single server: its streams are exported before the nodes
            # start clustered (they would not take them up), and restored once they answer.
            try:
                await export_single_server(layout, node_spec(1, clustered=False))
            except (PartFailedError, RebuildError, nats.errors.Error, OSError) as exc:
                raise StackError(
                    f"could not take up the single server's streams for the cluster ({exc}); "
                    f"its files are untouched in {layout.nats_node_store_dir(1)}"
                ) from None

        async def bus() -> None:
            # The nodes start together: a cluster's JetStream answers once a majority is up.
            await asyncio.gather(
                *(self._supervise(node_spec(node)).start() for node in range(1, nodes + 1))
            )
            nc = await nats.connect(
                server_urls(layout.nats_urls),
                **credential_options(layout.admin_credentials, layout.tls_ca_file),
            )
            try:
                # In a cluster every stream keeps 3 copies; alone, what it has (1 when new).
                await ensure_streams_when_ready(
                    nc,
                    replicas=min(nodes, CLUSTER_REPLICAS) if nodes > 1 else None,
                    rebuilds_dir=layout.stream_rebuilds_dir,
                )
            finally:
                await nc.close()

        async def database() -> PreparedDatabase:
            # Roles, migrations and grants as the administrator; from here on, the owner's
            # role for the operators' commands and each service's own for it.
            prepared = await prepare_database(
                await start_database(layout, self._supervise), database_passwords_dir(layout)
            )
            remember_database(layout, prepared.owner_url)
            self.logins = await first_admin_line(prepared.owner_url)
            return prepared

        # The bus and the database need nothing of each other: they start side by side.
        _, prepared = await both(bus(), database())
        self.db_url = prepared.owner_url
        env = child_environment(layout)
        await asyncio.gather(
            *(
                self._supervise(
                    service_spec(
                        layout,
                        part,
                        env,
                        replica=replica,
                        port=None if replica == 1 else free_port(),
                        db_url=prepared.service_urls.get(part.lower()),
                    )
                ).start()
                for part in SERVICES
                for replica in range(1, self.options.replicas + 1)
            )
        )

        async def signed_parts() -> None:
            # The parts that hand out the commands service's public key: agents check with it.
            key = await signing_public_key(layout.service_url("COMMANDS"))
            starting = [self._supervise(enroller_spec(layout, env, key)).start()]
            if self.options.agent:
                credentials = store.seed_path(agent_name(host_id))
                config = write_agent_config(layout, host_id, key, credentials)
                starting.append(self._supervise(agent_spec(layout, config, host_id, env)).start())
            await asyncio.gather(*starting)

        async def simulator() -> None:
            if self.options.simulate > 0:
                await self._supervise(
                    simulator_spec(
                        layout, self.options.simulate, self.options.simulate_interval, env
                    )
                ).start()

        async def scraper() -> None:
            targets = self.options.scrape
            if targets is not None:
                spec = scrape_spec(layout, targets, self.options.scrape_interval, env)
                await self._supervise(spec).start()
                self.followers.append(follow_targets(layout, targets, self.options.scrape_interval))

        # The simulator and the scraper need only the bus, not the agent: all start at once.
        await asyncio.gather(signed_parts(), simulator(), scraper())

    def _identities(self, host_id: str) -> IdentityStore:
        """Every identity the stack runs with, made on its first start and kept after (so an
        agent enrolled with `mirror-stage agent enroll` stays enrolled)."""
        store = IdentityStore(self.layout.identities_dir)
        with identity_lock(self.layout.identities_dir):
            # The simulator may publish any host's samples: it exists only while one runs.
            ensure_stack_identities(store, simulator=self.options.simulate > 0)
            if self.options.agent:
                try:
                    store.enroll_agent(host_id)
                except IdentityConflictError as exc:
                    raise StackError(f"the local agent: {exc}") from None
        if self.options.scrape is not None:
            try:
                allow_scrape_hosts(self.layout, scrape_host_ids(self.options.scrape))
            except TargetsError as exc:
                raise StackError(f"--scrape: {exc}") from None
        else:
            with identity_lock(self.layout.identities_dir):
                store.set_scrape_hosts([])  # a scraper that once ran may publish for no host
        return store

    async def watch(self) -> None:
        """Restart dying parts; return (raise) only when one keeps failing."""
        await asyncio.gather(*(part.watch() for part in self.parts), *self.followers)

    async def stop(self) -> None:
        """Stop the agent and services together, then PostgreSQL, then NATS."""

        def infrastructure(part: Supervised) -> bool:
            return part.spec.name == "postgres" or part.spec.name.startswith("nats")

        front = [p for p in self.parts if not infrastructure(p)]
        await asyncio.gather(*(part.stop() for part in front))
        for part in [p for p in self.parts if p.spec.name == "postgres"]:
            await part.stop()
        # A cluster's nodes stop together: one alone would wait for the others to lead.
        await asyncio.gather(*(p.stop() for p in self.parts if p.spec.name.startswith("nats")))


async def run_stack(layout: StackLayout, options: StackOptions) -> int:
    """Run the stack until SIGINT or SIGTERM; return the process exit code."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    began = time.monotonic()
    stack = Stack(layout, options)
    print(f"MIRROR STAGE starting, data in {layout.data_dir}", flush=True)  # noqa: T201
    exit_code = 0
    try:
        starting = asyncio.create_task(stack.start())
        stopping = asyncio.create_task(stop_requested.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            log.info("stack.start_interrupted")
            return 130
        starting.result()
        print(stack.logins, flush=True)  # noqa: T201
        print(  # noqa: T201
            f"all healthy in {time.monotonic() - began:.1f} s; logs in {layout.logs_dir}\n"
            f"HUD: {layout.service_url('TWIN')}/",
            flush=True,
        )
        watching = asyncio.create_task(stack.watch())
        await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if watching.done():
            watching.result()  # raises the PartFailedError that ended it
        watching.cancel()
    except (
        StackError,
        PartFailedError,
        PostgresSetupError,
        DatabaseSetupError,
        NatsServerNotFoundError,
    ) as exc:
        print(f"mirror-stage: {exc}", file=sys.stderr, flush=True)  # noqa: T201
        exit_code = 1
    finally:
        print("stopping…", flush=True)  # noqa: T201
        await stack.stop()
        print("stopped", flush=True)  # noqa: T201
    return exit_code
