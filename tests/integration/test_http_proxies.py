"""Client addresses behind a proxy, on a real commands service with logins on: a login is
throttled per client address, and X-Forwarded-For names the client only when the peer sending
it is a trusted proxy. Otherwise one client could name a new address on every try and never be
throttled."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from auth_http_helpers import AUTH_ON, client_from
from twin_helpers import own_nats_server

from loopback_ports import free_port
from mirror_stage.supervisor import Supervised
from servers import PostgresServer, service_spec

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROXY = "127.0.0.1"  # the trusted proxy; any other loopback address is a client of its own
ADDRESS_FAILURES = 2
ENV = {
    **AUTH_ON,
    "MIRROR_STAGE_TRUSTED_PROXIES": PROXY,
    "MIRROR_STAGE_HTTP_OPENAPI": "on",
    "MIRROR_STAGE_LOGIN_ADDRESS_FAILURES": str(ADDRESS_FAILURES),
}
THROTTLED = [401] * ADDRESS_FAILURES + [429]


@dataclass
class Proxied:
    """The commands service behind a trusted proxy at PROXY."""

    address: str

    async def logins(self, source: str, forwarded: list[str]) -> list[int]:
        """Wrong logins from `source`, each naming the next of `forwarded` in
        X-Forwarded-For (each as a new, unknown user): their statuses."""
        async with client_from(self.address, source) as http:
            statuses = []
            for n, client in enumerate(forwarded):
                answer = await http.post(
                    "/api/auth/login",
                    json={"user": f"someone-{source}-{n}", "password": "guess"},
                    headers={"X-Forwarded-For": client},
                )
                statuses.append(answer.status_code)
            return statuses


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxied(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> AsyncIterator[Proxied]:
    """One service for the module: each test logs in from client addresses of its own, so the
    throttle's counts of one test never reach another's."""
    tmp_path = tmp_path_factory.mktemp("proxied")
    async with (
        postgres_server.fresh_database() as database,
        own_nats_server(tmp_path / "nats") as nats_url,
    ):
        part = Supervised(
            service_spec(
                "commands",
                log_path=tmp_path / "commands.log",
                nats_url=nats_url,
                port=free_port(),
                db_url=database,
                env=ENV,
            )
        )
        await part.start()
        try:
            yield Proxied(part.spec.address)
        finally:
            await part.stop()


async def test_x_forwarded_for_from_an_untrusted_client_is_ignored(proxied: Proxied) -> None:
    forged = [f"203.0.113.{n}" for n in range(ADDRESS_FAILURES + 1)]
    assert await proxied.logins("127.0.0.2", forged) == THROTTLED


async def test_a_trusted_proxy_names_the_client_each_throttled_on_its_own(
    proxied: Proxied,
) -> None:
    one, another = "198.51.100.1", "198.51.100.2"
    assert await proxied.logins(PROXY, [one] * (ADDRESS_FAILURES + 1)) == THROTTLED
    assert await proxied.logins(PROXY, [another]) == [401]


async def test_the_api_description_may_be_served_but_never_the_pages(proxied: Proxied) -> None:
    """MIRROR_STAGE_HTTP_OPENAPI serves the JSON alone, never the pages that load scripts from
    a CDN."""
    async with httpx.AsyncClient(base_url=proxied.address, timeout=20) as http:
        described = await http.get("/openapi.json")
        assert described.status_code == 200
        assert "/api/commands" in described.json()["paths"]
        for path in ("/docs", "/redoc"):
            assert (await http.get(path)).status_code == 404
