"""Accounts against a real PostgreSQL: logins, lock-out, sessions' ends, API tokens."""

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
import pytest_asyncio

from mirror_runtime.auth import admin
from mirror_runtime.auth.accounts import Accounts
from mirror_runtime.auth.errors import InvalidAuthRequestError, LockedError, UnauthorizedError
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.auth.settings import AuthSettings

SETTINGS = AuthSettings(lockout_failures=3, lockout_minutes=10, session_hours=8, idle_minutes=30)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest_asyncio.fixture
async def auth_pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database, min_size=1, max_size=4)
    await migrate_auth(pool)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_a_login_opens_a_session_that_names_the_user(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    session = await accounts.login("otto", password, "127.0.0.1")
    assert session.principal.name == "otto"
    assert session.principal.role == "operator"
    assert session.expires_at == clock.now + timedelta(hours=8)
    found = await accounts.authenticate(session=session.secret)
    assert found.principal == session.principal
    assert found.csrf == session.csrf
    stored = await auth_pool.fetchval("SELECT digest FROM auth_sessions")
    assert stored != session.secret  # only the digest is kept


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    with pytest.raises(UnauthorizedError) as wrong:
        await accounts.login("otto", "not the password", None)
    with pytest.raises(UnauthorizedError) as unknown:
        await accounts.login("nobody", "not the password", None)
    assert wrong.value.detail == unknown.value.detail == "wrong user name or password"


async def test_repeated_wrong_passwords_lock_the_account_until_it_ends(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    for _ in range(SETTINGS.lockout_failures):
        with pytest.raises(UnauthorizedError):
            await accounts.login("otto", "guess", None)
    with pytest.raises(LockedError) as locked:
        await accounts.login("otto", password, None)  # even the right password
    assert locked.value.retry_after_seconds == pytest.approx(600)
    clock.advance(minutes=10, seconds=1)
    session = await accounts.login("otto", password, None)
    assert session.principal.name == "otto"


async def test_a_success_resets_the_count_of_failures(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    for _ in range(SETTINGS.lockout_failures - 1):
        with pytest.raises(UnauthorizedError):
            await accounts.login("otto", "guess", None)
    await accounts.login("otto", password, None)
    for _ in range(SETTINGS.lockout_failures - 1):
        with pytest.raises(UnauthorizedError):
            await accounts.login("otto", "guess", None)
    await accounts.login("otto", password, None)  # not locked: the count started again


async def test_an_admin_unlocks_a_locked_user(auth_pool: asyncpg.Pool, clock: Clock) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    for _ in range(SETTINGS.lockout_failures):
        with pytest.raises(UnauthorizedError):
            await accounts.login("otto", "guess", None)
    await admin.unlock_user(auth_pool, "otto")
    await accounts.login("otto", password, None)


async def test_a_session_ends_at_its_expiry_when_idle_and_at_logout(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    idle = await accounts.login("otto", password, None)
    clock.advance(minutes=31)
    with pytest.raises(UnauthorizedError, match="ended"):
        await accounts.authenticate(session=idle.secret)

    used = await accounts.login("otto", password, None)
    for _ in range(20):  # used every 25 minutes: never idle, until the 8 hours are up
        clock.advance(minutes=25)
        if clock.now >= used.expires_at:
            break
        await accounts.authenticate(session=used.secret)
    with pytest.raises(UnauthorizedError):
        await accounts.authenticate(session=used.secret)

    ended = await accounts.login("otto", password, None)
    await accounts.logout(ended.secret)
    with pytest.raises(UnauthorizedError):
        await accounts.authenticate(session=ended.secret)


async def test_changing_a_password_ends_every_session(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    before = await accounts.login("otto", password, None)
    with pytest.raises(InvalidAuthRequestError, match="at least 12"):
        await accounts.change_password("otto", password, "short")
    with pytest.raises(UnauthorizedError):
        await accounts.change_password("otto", "wrong current", "a long new password")
    await accounts.change_password("otto", password, "a long new password")
    with pytest.raises(UnauthorizedError):
        await accounts.authenticate(session=before.secret)
    with pytest.raises(UnauthorizedError):
        await accounts.login("otto", password, None)
    await accounts.login("otto", "a long new password", None)


async def test_api_tokens_authenticate_until_removed(auth_pool: asyncpg.Pool, clock: Clock) -> None:
    token = await admin.add_token(auth_pool, "ci", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    found = await accounts.authenticate(token=token)
    assert (found.principal.name, found.principal.kind, found.principal.actor) == (
        "ci",
        "token",
        "token:ci",
    )
    assert found.csrf is None
    assert await auth_pool.fetchval("SELECT last_used_at FROM auth_tokens") == clock.now
    with pytest.raises(UnauthorizedError, match="unknown API token"):
        await accounts.authenticate(token=token + "x")
    await admin.remove_token(auth_pool, "ci")
    with pytest.raises(UnauthorizedError):
        await accounts.authenticate(token=token)


async def test_the_first_admin_is_made_once(auth_pool: asyncpg.Pool, clock: Clock) -> None:
    password = await admin.ensure_first_admin(auth_pool)
    assert password is not None
    assert await admin.ensure_first_admin(auth_pool) is None
    session = await Accounts(auth_pool, SETTINGS, clock).login("admin", password, None)
    assert session.principal.role == "admin"


async def test_admin_commands_refuse_bad_names_and_duplicates(auth_pool: asyncpg.Pool) -> None:
    with pytest.raises(admin.AdminError, match="lowercase"):
        await admin.add_user(auth_pool, "Bad Name", "viewer")
    await admin.add_user(auth_pool, "vera", "viewer")
    with pytest.raises(admin.AdminError, match="exists"):
        await admin.add_user(auth_pool, "vera", "viewer")
    with pytest.raises(admin.AdminError, match="no user"):
        await admin.remove_user(auth_pool, "nobody")
    await admin.add_token(auth_pool, "ci", "viewer")
    with pytest.raises(admin.AdminError, match="exists"):
        await admin.add_token(auth_pool, "ci", "viewer")


async def test_many_failures_from_one_address_refuse_it_whatever_the_user(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    settings = msgspec.structs.replace(SETTINGS, address_failures=4, lockout_failures=100)
    accounts = Accounts(auth_pool, settings, clock)
    for name in ("ann", "bob", "cy", "dee"):  # a few guesses at each of many users
        with pytest.raises(UnauthorizedError):
            await accounts.login(name, "guess", "10.0.0.9")
    with pytest.raises(LockedError, match=r"10\.0\.0\.9"):
        await accounts.login("otto", password, "10.0.0.9")
    await accounts.login("otto", password, "10.0.0.10")  # otto himself, from elsewhere
    clock.advance(minutes=10, seconds=1)
    await accounts.login("otto", password, "10.0.0.9")


async def test_a_role_change_reaches_live_sessions(auth_pool: asyncpg.Pool, clock: Clock) -> None:
    password = await admin.add_user(auth_pool, "otto", "operator")
    accounts = Accounts(auth_pool, SETTINGS, clock)
    session = await accounts.login("otto", password, None)
    await admin.set_role(auth_pool, "otto", "viewer")
    assert (await accounts.authenticate(session=session.secret)).principal.role == "viewer"
    with pytest.raises(admin.AdminError, match="no user"):
        await admin.set_role(auth_pool, "nobody", "viewer")


async def test_the_last_admin_is_kept_even_when_two_admins_step_down_at_once(
    auth_pool: asyncpg.Pool,
) -> None:
    """Two admins demoting (or removing) each other at the same moment: one change is made,
    the other refused, and an admin is left."""
    for name in ("ann", "bob"):
        await admin.add_user(auth_pool, name, "admin")
    outcomes = await asyncio.gather(
        admin.set_role(auth_pool, "ann", "operator"),
        admin.remove_user(auth_pool, "bob"),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, admin.LastAdminError)]
    assert len(refused) == 1, outcomes
    assert "last admin" in str(refused[0])
    admins = await auth_pool.fetchval("SELECT count(*) FROM auth_users WHERE role = 'admin'")
    assert admins == 1
    (last,) = [
        r["name"] for r in await auth_pool.fetch("SELECT name FROM auth_users WHERE role = 'admin'")
    ]
    with pytest.raises(admin.LastAdminError):
        await admin.remove_user(auth_pool, last)
    await admin.set_role(auth_pool, last, "admin")  # staying an admin is no demotion


async def test_an_old_hash_verifies_and_is_rehashed_at_the_next_login(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(
        b"an old long password", salt=salt, n=2**15, r=8, p=1, maxmem=2**26, dklen=32
    )
    old = f"scrypt$32768$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    await auth_pool.execute(
        "INSERT INTO auth_users (name, role, password_hash) VALUES ('olaf', 'viewer', $1)", old
    )
    accounts = Accounts(auth_pool, SETTINGS, clock)
    with pytest.raises(UnauthorizedError):
        await accounts.login("olaf", "not the old password", None)
    assert await auth_pool.fetchval("SELECT password_hash FROM auth_users") == old
    await accounts.login("olaf", "an old long password", None)
    upgraded = await auth_pool.fetchval("SELECT password_hash FROM auth_users")
    assert upgraded != old
    assert int(upgraded.split("$")[1]) >= 2**17
    await accounts.login("olaf", "an old long password", None)  # the new hash verifies


async def test_concurrent_wrong_logins_are_counted_before_their_hash(
    auth_pool: asyncpg.Pool, clock: Clock
) -> None:
    """Two replicas (two Accounts) share the count in PostgreSQL: a burst over both checks
    no more passwords than the lock allows."""
    password = await admin.add_user(auth_pool, "otto", "operator")
    replicas = [Accounts(auth_pool, SETTINGS, clock) for _ in range(2)]
    outcomes = await asyncio.gather(
        *(replicas[n % 2].login("otto", f"guess {n}", None) for n in range(30)),
        return_exceptions=True,
    )
    assert all(isinstance(o, UnauthorizedError | LockedError) for o in outcomes), outcomes
    wrong = [o for o in outcomes if isinstance(o, UnauthorizedError)]
    assert len(wrong) == SETTINGS.lockout_failures
    with pytest.raises(LockedError):
        await replicas[0].login("otto", password, None)
