"""The twin and the alerts service with logins on, for the tests of what the HUD's admin panel
calls: rules, silences, the preview and receivers forwarded by the twin, and an admin's users
and tokens (answered by the alerts service, which holds the database). Each test comes with
people of its own: an admin, an operator and a viewer, and an operator's API token."""

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from alerts_helpers import FAST_ENV
from auth_http_helpers import AUTH_ON, settled_user
from twin_helpers import own_nats_server, twin_spec

from loopback_ports import free_port
from mirror_runtime.auth import admin
from mirror_runtime.auth.migrations import migrate_auth
from mirror_stage.supervisor import Supervised
from servers import service_spec


@dataclass
class AdminStack:
    """The running twin and alerts service, their bus and database."""

    twin: str
    alerts: str
    nats_url: str
    pool: asyncpg.Pool
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))


@dataclass
class People:
    """One test's users (persona -> name and password) and operator token."""

    stack: AdminStack
    names: dict[str, str]
    passwords: dict[str, str]
    token: str
    token_name: str

    def name(self, persona: str) -> str:
        return self.names[persona]

    async def session(self, persona: str) -> "Session":
        """`persona` logged in at the twin: a client with their cookie and CSRF token."""
        http = httpx.AsyncClient(base_url=self.stack.twin, timeout=30)
        answer = await http.post(
            "/api/auth/login",
            json={"user": self.names[persona], "password": self.passwords[persona]},
        )
        assert answer.status_code == 200, answer.text
        return Session(http, answer.json()["csrf"])

    def bearer(self, token: str | None = None) -> httpx.AsyncClient:
        """A client at the twin sending an API token (the operator's, unless given)."""
        return httpx.AsyncClient(
            base_url=self.stack.twin,
            timeout=30,
            headers={"Authorization": f"Bearer {token or self.token}"},
        )


@dataclass
class Session:
    """A logged-in browser's client: its changes carry the CSRF token, as the HUD's do."""

    http: httpx.AsyncClient
    csrf: str

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf}
        if body is None:
            return await self.http.request(method, path, headers=headers)
        return await self.http.request(method, path, json=body, headers=headers)

    async def close(self) -> None:
        await self.http.aclose()


PERSONAS = {"ada": "admin", "otto": "operator", "vera": "viewer"}


async def people(stack: AdminStack) -> People:
    """A test's own admin ada-N, operator otto-N, viewer vera-N and operator token ci-N."""
    n = next(stack.numbers)
    names = {persona: f"{persona}-{n}" for persona in PERSONAS}
    passwords = {
        persona: await settled_user(stack.pool, names[persona], role)  # type: ignore[arg-type]
        for persona, role in PERSONAS.items()
    }
    token = await admin.add_token(stack.pool, f"ci-{n}", "operator")
    return People(stack, names, passwords, token, f"ci-{n}")


@asynccontextmanager
async def running_admin_stack(tmp_path: Path, database: str) -> AsyncIterator[AdminStack]:
    """The alerts service (holding the database) and a twin, logins on, on a bus of their own."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    await migrate_auth(pool)
    parts: list[Supervised] = []
    try:
        async with own_nats_server(tmp_path / "nats") as nats_url:
            alerts = Supervised(
                service_spec(
                    "alerts",
                    log_path=tmp_path / "alerts.log",
                    nats_url=nats_url,
                    port=free_port(),
                    db_url=database,
                    env={**FAST_ENV, **AUTH_ON},
                )
            )
            twin = Supervised(twin_spec(nats_url, tmp_path / "twin.log", free_port(), AUTH_ON))
            parts += [alerts, twin]
            try:
                await asyncio.gather(alerts.start(), twin.start())
                yield AdminStack(twin.spec.address, alerts.spec.address, nats_url, pool)
            finally:
                await asyncio.gather(*(part.stop() for part in parts))
    finally:
        await pool.close()
