"""Accounts: logins, sessions and API tokens checked against PostgreSQL.

The one place the rules live: a wrong password counts towards a lock-out, a locked account is
refused without looking at the password, an unknown name costs as much time as a wrong
password, a session ends at its expiry or after being idle, changing a password ends every
session of the user.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import asyncpg
import msgspec
import structlog

from mirror_runtime.auth import credentials, store
from mirror_runtime.auth.errors import (
    InvalidAuthRequestError,
    LockedError,
    UnauthorizedError,
)
from mirror_runtime.auth.passwords import (
    UNKNOWN_USER_HASH,
    WeakPasswordError,
    check_new_password,
    hash_password,
    verify_password,
)
from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.auth.throttle import AddressThrottle
from mirror_schema.auth_api import Principal

log = structlog.get_logger()

WRONG_CREDENTIALS: Final = "wrong user name or password"
# A session or token seen within this long is not written to again (one write a minute).
TOUCH_SECONDS: Final = 60.0
# Hashes run in threads, at most this many at once: a flood of logins queues, it does not
# take every core (or 32 MiB each) at once.
CONCURRENT_HASHES: Final = 2

Clock = Callable[[], datetime]


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A new login: the secret for the cookie, its CSRF token, who, and until when."""

    secret: str
    csrf: str
    principal: Principal
    expires_at: datetime


class Authenticated(msgspec.Struct, frozen=True, kw_only=True):
    """Who a credential belongs to; ``csrf`` when it was a session."""

    principal: Principal
    csrf: str | None = None


class Authority(Protocol):
    """What the HTTP side needs: the database's Accounts, or RemoteAccounts over the bus."""

    async def login(self, user: str, password: str, client: str | None) -> Session: ...

    async def authenticate(
        self, *, session: str | None = None, token: str | None = None
    ) -> Authenticated: ...

    async def logout(self, session: str) -> None: ...

    async def change_password(self, user: str, current: str, new: str) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Accounts:
    """The Authority of a service holding the database."""

    def __init__(self, pool: asyncpg.Pool, settings: AuthSettings, clock: Clock = _now) -> None:
        self.pool = pool
        self.settings = settings
        self.clock = clock
        self._hashing = asyncio.Semaphore(CONCURRENT_HASHES)
        self._throttle = AddressThrottle(
            settings.address_failures, timedelta(minutes=settings.lockout_minutes)
        )

    async def _verify(self, password: str, stored: str) -> bool:
        async with self._hashing:
            return await asyncio.to_thread(verify_password, password, stored)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(hash_password, password)

    async def login(self, user: str, password: str, client: str | None) -> Session:
        """A new session for `user`, or UnauthorizedError / LockedError."""
        now = self.clock()
        wait = self._throttle.retry_after(client, now)
        if wait is not None:
            log.warning("auth.login_throttled", user=user, client=client)
            raise LockedError(
                f"too many failed logins from {client}; try again in {wait:.0f} s", wait
            )
        row = await store.user(self.pool, user)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            retry = (row.locked_until - now).total_seconds()
            log.warning("auth.login_locked", user=user, client=client)
            raise LockedError(
                f"user {user!r} is locked after {self.settings.lockout_failures} wrong "
                f"passwords; try again in {retry:.0f} s or ask an admin "
                "(mirror-stage user unlock)",
                retry,
            )
        matches = await self._verify(password, row.password_hash if row else UNKNOWN_USER_HASH)
        if row is None or not matches:
            await self._fail(user, row is not None, client)
            raise UnauthorizedError(WRONG_CREDENTIALS)
        secret = credentials.new_session_secret()
        expires_at = now + timedelta(hours=self.settings.session_hours)
        await store.open_session(self.pool, credentials.digest(secret), row.name, now, expires_at)
        principal = Principal(name=row.name, role=row.role, kind="user")
        log.info("auth.login", user=row.name, role=row.role, client=client)
        return Session(
            secret=secret,
            csrf=credentials.csrf_token(secret),
            principal=principal,
            expires_at=expires_at,
        )

    async def _fail(self, user: str, known: bool, client: str | None) -> None:
        self._throttle.failed(client, self.clock())
        locked_until = None
        if known:
            lock_end = self.clock() + timedelta(minutes=self.settings.lockout_minutes)
            locked_until = await store.record_failure(
                self.pool, user, self.settings.lockout_failures, lock_end
            )
        log.warning(
            "auth.login_failed", user=user, known=known, client=client, locked=bool(locked_until)
        )

    async def authenticate(
        self, *, session: str | None = None, token: str | None = None
    ) -> Authenticated:
        """Who holds this session secret or API token, or UnauthorizedError."""
        now = self.clock()
        if session is not None:
            digest = credentials.digest(session)
            idle_since = now - timedelta(minutes=self.settings.idle_minutes)
            row = await store.session(self.pool, digest, now, idle_since)
            if row is None:
                raise UnauthorizedError("the session has ended: log in again")
            if (now - row.last_seen_at).total_seconds() > TOUCH_SECONDS:
                await store.touch_session(self.pool, digest, now)
            return Authenticated(
                principal=Principal(name=row.user_name, role=row.role, kind="user"),
                csrf=credentials.csrf_token(session),
            )
        if token is not None:
            found = await store.token(self.pool, credentials.digest(token))
            if found is None:
                raise UnauthorizedError("unknown API token")
            last = found.last_used_at
            if last is None or (now - last).total_seconds() > TOUCH_SECONDS:
                await store.touch_token(self.pool, found.name, now)
            principal = Principal(name=found.name, role=found.role, kind="token")
            return Authenticated(principal=principal)
        raise UnauthorizedError("no credentials: log in, or send Authorization: Bearer <token>")

    async def logout(self, session: str) -> None:
        """End the session (nothing if it had ended)."""
        await store.close_session(self.pool, credentials.digest(session))

    async def change_password(self, user: str, current: str, new: str) -> None:
        """Set a new password after checking the current one; every session of the user ends."""
        try:
            check_new_password(new)
        except WeakPasswordError as exc:
            raise InvalidAuthRequestError(f"new {exc}") from None
        await self.login(user, current, client=None)  # the same checks, counts and lock
        await store.set_password(self.pool, user, await self._hash(new), self.clock())
        log.info("auth.password_changed", user=user)
