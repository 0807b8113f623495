"""Services with logins on, for the HTTP security tests: the commands service and a twin on
their own NATS and a fresh database, with a viewer, an operator and an API token."""

import asyncio
import itertools
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import trustme
from twin_helpers import own_nats_server, twin_spec

from loopback_ports import free_port
from mirror_runtime.auth import admin, store
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.auth.passwords import hash_password
from mirror_schema import subjects
from mirror_schema.auth_api import Role
from mirror_stage.supervisor import PartSpec, Supervised
from servers import service_spec
from waiting import wait_until

LOCKOUT_FAILURES = 3
AUTH_ON = {
    "MIRROR_STAGE_HTTP_AUTH": "on",
    "MIRROR_STAGE_LOGIN_LOCKOUT_FAILURES": "3",
    # Sockets checked again every second (5 s by default): a closing seen sooner, as strictly.
    "MIRROR_STAGE_SOCKET_RECHECK_SECONDS": "1",
}
HOST = "web-1"


@dataclass
class GuardedServices:
    """The commands service and a twin with logins on, host web-1 known to both; shared by a
    module's tests, each of which comes as a Guest of its own (see `guest`)."""

    commands: str
    twin: str
    pool: asyncpg.Pool
    parts: dict[str, Supervised]  # "commands" and "twin", to look at their processes
    guests: Iterator[int] = field(default_factory=lambda: itertools.count(2))


@dataclass
class Guarded:
    """One test's way into the guarded services: users, a token and a client address of its
    own, so that what it does (a lock-out, a removed token, a throttled address, a changed
    password) reaches no other test. Persona "vera" is a viewer, "otto" an operator; each is
    a user named after the persona and the test."""

    commands: str
    twin: str
    pool: asyncpg.Pool
    parts: dict[str, Supervised]
    names: dict[str, str]  # persona -> this test's user name
    passwords: dict[str, str]  # persona -> password
    token_name: str  # an operator's API token
    token: str
    number: int  # this test's among the module's

    @property
    def source(self) -> str:
        """The loopback address this test's HTTP clients connect from."""
        return f"127.0.0.{self.number}"

    def name(self, persona: str) -> str:
        """This test's user name for `persona`."""
        return self.names[persona]

    def own(self, name: str) -> str:
        """`name` made this test's own (another user's name, a token's)."""
        return f"{name}-{self.number}"

    def client(self, base: str | None = None) -> httpx.AsyncClient:
        """A fresh HTTP client (its own cookie jar) on the commands service, or `base`, from
        this test's address."""
        return client_from(base or self.commands, self.source)

    async def login(self, http: httpx.AsyncClient, persona: str) -> str:
        """Log `persona` in on `http` (the cookie lands in its jar); their CSRF token."""
        answer = await http.post(
            "/api/auth/login",
            json={"user": self.names[persona], "password": self.passwords[persona]},
        )
        assert answer.status_code == 200, answer.text
        csrf: str = answer.json()["csrf"]
        return csrf


# A password and its scrypt hash per role, made once per test process: a hash takes about
# 0.4 s of a core and 128 MiB (on purpose), and the users of every test may share them (a hash
# does not depend on the name). Logins still verify against the real hash, at its full cost.
_HASHED: dict[Role, tuple[str, str]] = {}


async def settled_user(pool: asyncpg.Pool, name: str, role: Role) -> str:
    """A user whose password is their own already (not one-time, which allows nothing but
    changing it): the password."""
    if role not in _HASHED:
        password = admin.one_time_password()
        _HASHED[role] = password, await asyncio.to_thread(hash_password, password)
    password, digest = _HASHED[role]
    assert await store.add_user(pool, name, role, digest), f"user {name} exists"
    await pool.execute(
        "UPDATE auth_users SET password_change_required = false WHERE name = $1", name
    )
    return password


PERSONAS: dict[str, Role] = {"vera": "viewer", "otto": "operator"}


async def guest(services: GuardedServices) -> Guarded:
    """A test's own users (vera-N, otto-N), operator token (ci-N) and client address
    (127.0.0.N) on the shared `services`."""
    n = next(services.guests)
    assert n < 255, "more tests than loopback addresses 127.0.0.2-254"
    names = {persona: f"{persona}-{n}" for persona in PERSONAS}
    passwords = {
        persona: await settled_user(services.pool, names[persona], role)
        for persona, role in PERSONAS.items()
    }
    token_name = f"ci-{n}"
    token = await admin.add_token(services.pool, token_name, "operator")
    return Guarded(
        commands=services.commands,
        twin=services.twin,
        pool=services.pool,
        parts=services.parts,
        names=names,
        passwords=passwords,
        token_name=token_name,
        token=token,
        number=n,
    )


def client_from(base: str, source: str) -> httpx.AsyncClient:
    """An HTTP client on `base` whose connections come from the loopback address `source`
    (127.0.0.2 and the rest of 127/8 are this machine too): a client address of its own."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base, timeout=20, transport=transport)


def command_body(**extra: Any) -> dict[str, Any]:
    """A command for the known host."""
    return {"hostname": HOST, "command": "uptime", **extra}


async def _start(spec: PartSpec, parts: list[Supervised]) -> str:
    part = Supervised(spec)
    parts.append(part)
    await part.start()
    return part.spec.address


@asynccontextmanager
async def running_guarded(tmp_path: Path, database: str) -> AsyncIterator[GuardedServices]:
    """The commands service and a twin with logins on, host web-1 known to both."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    await migrate_auth(pool)
    parts: list[Supervised] = []
    try:
        async with own_nats_server(tmp_path / "nats") as nats_url:
            try:
                # Neither needs the other to start (the twin asks the commands service
                # about logins only when one is tried): they start side by side.
                commands, twin = await asyncio.gather(
                    _start(
                        service_spec(
                            "commands",
                            log_path=tmp_path / "commands.log",
                            nats_url=nats_url,
                            port=free_port(),
                            db_url=database,
                            env=AUTH_ON,
                        ),
                        parts,
                    ),
                    _start(twin_spec(nats_url, tmp_path / "twin.log", free_port(), AUTH_ON), parts),
                )
                await _publish_sample(nats_url)
                named = {part.spec.name: part for part in parts}
                ready = GuardedServices(commands, twin, pool, named)
                await _wait_known(ready)
                yield ready
            finally:
                await asyncio.gather(*(part.stop() for part in parts))
    finally:
        await pool.close()


async def _publish_sample(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        body = {
            "hostname": f"{HOST}.example.com",
            "host_id": HOST,
            "timestamp": datetime.now(UTC).isoformat(),
            "cpu_load": 5.0,
        }
        await nc.jetstream().publish(subjects.metrics_raw(HOST), msgspec.json.encode(body))
    finally:
        await nc.close()


async def _wait_known(ready: GuardedServices) -> None:
    token = await admin.add_token(ready.pool, "waiting", "viewer")
    async with httpx.AsyncClient(base_url=ready.commands, timeout=20) as http:
        headers = {"Authorization": f"Bearer {token}"}

        async def known() -> bool:
            hosts = (await http.get("/api/commands/hosts", headers=headers)).json()["hosts"]
            return any(h["host_id"] == HOST for h in hosts)

        await wait_until(known, timeout=20, what=f"{HOST} known to the commands service")
    await admin.remove_token(ready.pool, "waiting")


@dataclass
class Certificates:
    """A private CA and a certificate for 127.0.0.1 signed by it."""

    cert_file: Path
    key_file: Path
    context: ssl.SSLContext  # a client context trusting the CA


def issue_certificates(tmp_path: Path) -> Certificates:
    """A fresh private CA, and a certificate for 127.0.0.1 signed by it, written in `tmp_path`."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in issued.cert_chain_pems[1:]:
        with cert_file.open("ab") as out:
            out.write(extra.bytes())
    issued.private_key_pem.write_to_path(str(key_file))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return Certificates(cert_file=cert_file, key_file=key_file, context=context)
