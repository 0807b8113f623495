"""A nats-server with authorization on, for the security tests: an admin, the agents of two
hosts, connections that record what the server refused, and revocation by reload."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.aio.client
import nats.errors

from loopback_ports import free_port
from mirror_schema import streams
from mirror_stage.nats_accounts import accounts_block, agent_permissions
from mirror_stage.nats_identities import (
    Identity,
    Permissions,
    admin_permissions,
    agent_inbox_prefix,
    automation_permissions,
    new_identity,
    service_permissions,
)
from mirror_stage.natsd import (
    DEFAULT_SYNC_INTERVAL,
    loopback_nats_spec,
    reload,
    write_server_config,
)
from mirror_stage.supervisor import Supervised
from waiting import wait_until

HOST_A = "host-a"
HOST_B = "host-b"
BOT = "ci"  # the automation user
SERVICES = ("twin", "ingest", "alerts", "commands")
REFUSAL_WITHIN = 5.0


@dataclass
class Secured:
    """A nats-server with authorization on: an admin and the agents of two hosts."""

    url: str
    admin: Identity
    automation: Identity  # the script "ci"
    agents: dict[str, Identity]
    services: dict[str, Identity]
    server: Supervised
    store_dir: Path
    clients: list[nats.aio.client.Client] = field(default_factory=list)

    def seed_file(self, host: str, directory: Path) -> Path:
        """The agent of `host`'s credentials file, as enrollment writes it."""
        path = directory / f"{host}.nk"
        path.write_text(self.agents[host].seed + "\n")
        path.chmod(0o600)
        return path

    def revoke(self, host: str) -> None:
        """Drop the agent of `host` from the server's users and reload: no restart."""
        del self.agents[host]
        self._reload()

    def enroll(self, host: str) -> Identity:
        """Add the agent of `host` (an account of its own) and reload: no restart."""
        self.agents[host] = new_identity(f"agent-{host}")
        self._reload()
        return self.agents[host]

    def _reload(self) -> None:
        name = f"loopback-{self.server.spec.address.rsplit(':', 1)[1]}"
        authorization = accounts_block(users(self))
        write_server_config(self.store_dir, name, DEFAULT_SYNC_INTERVAL, authorization)
        assert self.server.pid is not None
        assert reload(self.server.pid, self.server.spec.log_path)

    async def refusal(self, who: Identity, host: str) -> str | None:
        """Why the server refused a connection as `who` (None: it took it, and it is kept);
        a refused client is closed, so nothing is left to the collector."""
        nc = nats.aio.client.Client()
        try:
            await nc.connect(
                self.url,
                nkeys_seed_str=who.seed,
                inbox_prefix=agent_inbox_prefix(host),
                allow_reconnect=False,
                connect_timeout=2,
                error_cb=_ignore,
            )
        except (nats.errors.Error, OSError) as exc:
            await nc.close()
            return str(exc)
        self.clients.append(nc)
        return None

    async def connect(
        self, who: Identity | None, host: str | None = None, inbox: str | None = None
    ) -> "Client":
        client = Client()
        client.nc = await nats.connect(
            self.url,
            nkeys_seed_str=who.seed if who else None,
            inbox_prefix=inbox or (agent_inbox_prefix(host) if host else "_INBOX"),
            error_cb=client.on_error,
            allow_reconnect=False,
            connect_timeout=2,
        )
        self.clients.append(client.nc)
        return client


async def _ignore(exc: Exception) -> None:
    """The refusal is the answer `Secured.refusal` returns."""


@dataclass
class Client:
    """A connection and the asynchronous errors the server sent it."""

    nc: nats.aio.client.Client = field(init=False)
    errors: list[str] = field(default_factory=list)

    async def on_error(self, exc: Exception) -> None:
        self.errors.append(str(exc))

    async def refused(self, words: str) -> None:
        """Wait until the server reported a permissions violation mentioning `words`."""

        def seen() -> bool:
            # nats-py lowercases the server's message.
            return any(
                "permissions violation" in e.lower() and words.lower() in e.lower()
                for e in self.errors
            )

        await wait_until(seen, timeout=REFUSAL_WITHIN, what=f"a refusal of {words}: {self.errors}")


def users(state: "Secured") -> list[tuple[Identity, Permissions]]:
    """The server's users: the admin, the script, the services, and each agent still enrolled."""
    return [
        *first_users(state.admin, state.automation, state.services),
        *((state.agents[host], agent_permissions(host)) for host in state.agents),
    ]


def first_users(
    admin: Identity, automation: Identity, services: dict[str, Identity]
) -> list[tuple[Identity, Permissions]]:
    """Every user but the agents."""
    return [
        (admin, admin_permissions()),
        (automation, automation_permissions(BOT)),
        *((services[name], service_permissions(name)) for name in services),
    ]


@asynccontextmanager
async def secured_nats_server(tmp_path: Path) -> AsyncIterator[Secured]:
    """The server, its streams made by the admin; stopped after."""
    admin = new_identity("admin")
    automation = new_identity(f"automation-{BOT}")
    agents = {host: new_identity(f"agent-{host}") for host in (HOST_A, HOST_B)}
    services = {name: new_identity(name) for name in SERVICES}
    first = first_users(admin, automation, services)
    first += [(agents[host], agent_permissions(host)) for host in agents]
    spec = loopback_nats_spec(
        tmp_path / "nats",
        port=free_port(),
        authorization=accounts_block(first),
        probe_seed=admin.seed,
    )
    server = Supervised(spec)
    await server.start()
    state = Secured(
        url=spec.address,
        admin=admin,
        automation=automation,
        agents=agents,
        services=services,
        server=server,
        store_dir=tmp_path / "nats" / "jetstream",
    )
    try:
        admin_client = await state.connect(admin)
        await streams.ensure_streams(admin_client.nc.jetstream())
        yield state
    finally:
        for nc in state.clients:
            if not nc.is_closed:
                await nc.close()
        await server.stop()
