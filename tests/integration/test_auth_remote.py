"""RemoteAccounts, the twin's way to check logins, against real auth.api endpoints: while
no service holding the accounts answers, a session it confirmed lately still works, and one
it never saw is a 503, not a 401."""

from collections.abc import AsyncIterator

import asyncpg
import nats
import nats.aio.client
import pytest
import pytest_asyncio

from mirror_runtime.auth import admin
from mirror_runtime.auth.accounts import Accounts
from mirror_runtime.auth.endpoints import AuthEndpoints
from mirror_runtime.auth.errors import InvalidAuthRequestError, LockedError, UnauthorizedError
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.auth.remote import (
    CACHE_SECONDS,
    OUTAGE_GRACE_SECONDS,
    RemoteAccounts,
    UnavailableError,
)
from mirror_runtime.auth.settings import AuthSettings
from mirror_schema.identities import inbox_prefix
from servers import NatsServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def accounts(database: str) -> AsyncIterator[Accounts]:
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    await migrate_auth(pool)
    try:
        yield Accounts(pool, AuthSettings())
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[nats.aio.client.Client]:
    nc = await nats.connect(nats_server.url, inbox_prefix=inbox_prefix("twin"))
    try:
        yield nc
    finally:
        await nc.close()


async def test_a_confirmed_session_outlives_an_outage_for_a_while(
    accounts: Accounts, bus: nats.aio.client.Client
) -> None:
    password = await admin.add_user(accounts.pool, "otto", "operator")
    endpoints = AuthEndpoints(bus, accounts)
    await endpoints.start()
    clock = Clock()
    remote = RemoteAccounts(bus, "twin", clock)
    session = await remote.login("otto", password, "127.0.0.1")
    assert (await remote.authenticate(session=session.secret)).principal.name == "otto"
    other = await accounts.login("otto", password, "127.0.0.1")  # never seen by `remote`

    await endpoints.stop()  # no service holds the accounts any more
    clock.now += CACHE_SECONDS + 1
    assert (await remote.authenticate(session=session.secret)).principal.name == "otto"
    with pytest.raises(UnavailableError):
        await remote.authenticate(session=other.secret)
    clock.now += OUTAGE_GRACE_SECONDS
    with pytest.raises(UnavailableError):
        await remote.authenticate(session=session.secret)


async def test_a_session_is_confirmed_by_its_login_through_a_starved_bus(
    accounts: Accounts, bus: nats.aio.client.Client
) -> None:
    """Under load the services may not answer in time: the twin's own login reply is a
    confirmation, so the session's first requests need no round trip, and it outlives a bus
    that answers nothing as any confirmed session does; a password change ends it here."""
    password = await admin.add_user(accounts.pool, "otto", "operator")
    endpoints = AuthEndpoints(bus, accounts)
    await endpoints.start()
    clock = Clock()
    remote = RemoteAccounts(bus, "twin", clock)
    session = await remote.login("otto", password, "127.0.0.1")
    await endpoints.stop()
    found = await remote.authenticate(session=session.secret)
    assert found.principal.name == "otto"
    assert found.csrf == session.csrf
    clock.now += CACHE_SECONDS + 1
    assert (await remote.authenticate(session=session.secret)).principal.name == "otto"
    await endpoints.start()
    await remote.change_password("otto", password, "otto's own long password")
    await endpoints.stop()
    with pytest.raises(UnavailableError):
        await remote.authenticate(session=session.secret)


async def test_each_refusal_comes_back_as_the_error_it_names(
    accounts: Accounts, bus: nats.aio.client.Client
) -> None:
    """The Failure envelope carries the code, and for a lock-out how long it lasts: the twin
    answers 401, 429 with Retry-After, or 422 as the service holding the accounts would."""
    settings = AuthSettings(lockout_failures=2)
    locking = Accounts(accounts.pool, settings)
    password = await admin.add_user(accounts.pool, "otto", "operator")
    endpoints = AuthEndpoints(bus, locking)
    await endpoints.start()
    try:
        remote = RemoteAccounts(bus, "twin")
        for _ in range(settings.lockout_failures):
            with pytest.raises(UnauthorizedError, match="wrong user name or password"):
                await remote.login("otto", "a wrong password", None)
        with pytest.raises(LockedError) as locked:
            await remote.login("otto", password, None)
        minutes = settings.lockout_minutes
        assert 0 < locked.value.retry_after_seconds <= minutes * 60
        with pytest.raises(InvalidAuthRequestError, match="session"):
            await remote.authenticate(session="x" * 257)
    finally:
        await endpoints.stop()
