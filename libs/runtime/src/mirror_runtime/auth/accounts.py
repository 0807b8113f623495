"""Accounts: logins, sessions and API tokens checked against PostgreSQL.

The one place the rules live: every attempt is counted before its password is hashed (in
PostgreSQL, so that a burst over every replica gets no more guesses than the lock-out allows),
a locked name is refused without looking at the password, an unknown name is counted, locked,
timed and answered as a known one is, a session ends at its expiry or after being idle,
changing a password ends every session of the user, a one-time password allows nothing but
changing it, and a hash made with older parameters is made again at the next login.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, Protocol

import asyncpg
import msgspec
import prometheus_client
import structlog

from mirror_runtime.auth import credentials, store
from mirror_runtime.auth.errors import (
    InvalidAuthRequestError,
    LockedError,
    UnauthorizedError,
)
from mirror_runtime.auth.passwords import (
    WeakPasswordError,
    check_new_password,
    hash_password,
    needs_rehash,
    unknown_user_hash,
    verify_password,
)
from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.auth.throttle import AddressThrottle
from mirror_schema.auth_api import Principal

log = structlog.get_logger()

WRONG_CREDENTIALS: Final = "wrong user name or password"
# The same for a locked name and an unknown one that was tried as often: the time left is in
# Retry-After.
LOCKED: Final = (
    "too many wrong passwords for this user name: locked for a while (see Retry-After), "
    "or ask an admin (mirror-stage user unlock)"
)
PASSWORD_CHECKS: Final = prometheus_client.Counter(
    "mirror_auth_password_checks_total",
    "Passwords checked against a hash (the slow part of a login), by whether the name was known",
    ["known"],
)
# A session or token seen within this long is not written to again (one write a minute).
TOUCH_SECONDS: Final = 60.0
# Hashes run in threads, at most this many at once: a flood of logins queues, it does not
# take every core (or 128 MiB each) at once.
CONCURRENT_HASHES: Final = 2

Clock = Callable[[], datetime]


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A new login: the secret for the cookie, its CSRF token, who, and until when."""

    secret: str
    csrf: str
    principal: Principal
    expires_at: datetime
    password_change_required: bool = False


class Authenticated(msgspec.Struct, frozen=True, kw_only=True):
    """Who a credential belongs to; ``csrf`` when it was a session."""

    principal: Principal
    csrf: str | None = None
    # A session opened with a one-time password: it may only change it.
    password_change_required: bool = False


class Authority(Protocol):
    """What the HTTP side needs: the database's Accounts, or RemoteAccounts over the bus."""

    async def login(self, user: str, password: str, client: str | None) -> Session: ...

    async def authenticate(
        self, *, session: str | None = None, token: str | None = None, fresh: bool = False
    ) -> Authenticated: ...

    async def logout(self, session: str) -> None: ...

    async def change_password(self, user: str, current: str, new: str) -> None: ...

    def forget(self, kind: Literal["user", "token"], name: str) -> None:
        """Drop what is remembered of the user's or token's credentials (a removal, a reset, a
        role change): their next request is checked anew."""


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

    async def _verify(self, password: str, stored: str | None) -> bool:
        """Whether `password` matches `stored`; with None (an unknown name), the dummy hash
        is checked all the same, so that it takes as long, and nothing matches."""
        async with self._hashing:
            PASSWORD_CHECKS.labels(str(stored is not None).lower()).inc()
            if stored is None:
                await asyncio.to_thread(verify_password, password, unknown_user_hash())
                return False
            return await asyncio.to_thread(verify_password, password, stored)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(hash_password, password)

    async def _check(self, user: str, password: str, client: str | None) -> store.UserRow:
        """The user whose password this is, or UnauthorizedError / LockedError. The attempt is
        counted (per name in PostgreSQL, per address here) before the password is hashed."""
        now = self.clock()
        window = timedelta(minutes=self.settings.lockout_minutes)
        wait = self._throttle.reserve(client, now)
        if wait is not None:
            log.warning("auth.login_throttled", user=user, client=client)
            raise LockedError(
                f"too many failed logins from {client}; try again in {wait:.0f} s", wait
            )
        try:
            attempt = await store.reserve_attempt(
                self.pool,
                user,
                max_failures=self.settings.lockout_failures,
                now=now,
                lock_until=now + window,
                window_start=now - window,
            )
        except BaseException:
            self._throttle.forget(client)
            raise
        if not attempt.allowed:
            self._throttle.forget(client)  # refused unchecked: not a guess
            until = attempt.locked_until
            retry = max(1.0, (until - now).total_seconds()) if until is not None else 1.0
            log.warning("auth.login_locked", user=user, client=client)
            raise LockedError(LOCKED, retry)
        row = await store.user(self.pool, user)
        matches = await self._verify(password, row.password_hash if row is not None else None)
        if row is None or not matches:
            log.warning("auth.login_failed", user=user, known=row is not None, client=client)
            raise UnauthorizedError(WRONG_CREDENTIALS)
        self._throttle.forget(client)  # a success is not held against the address
        if needs_rehash(row.password_hash):
            await store.rehash(self.pool, row.name, row.password_hash, await self._hash(password))
            log.info("auth.password_rehashed", user=row.name)
        return row

    async def login(self, user: str, password: str, client: str | None) -> Session:
        """A new session for `user`, or UnauthorizedError / LockedError."""
        row = await self._check(user, password, client)
        now = self.clock()
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
            password_change_required=row.password_change_required,
        )

    async def authenticate(
        self, *, session: str | None = None, token: str | None = None, fresh: bool = False
    ) -> Authenticated:
        """Who holds this session secret or API token, or UnauthorizedError (always asked of
        the database: `fresh` matters to RemoteAccounts only)."""
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
                password_change_required=row.password_change_required,
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

    def forget(self, kind: Literal["user", "token"], name: str) -> None:
        """Nothing is remembered here: every request asks the database."""

    async def change_password(self, user: str, current: str, new: str) -> None:
        """Set a new password after checking the current one; every session of the user ends,
        and a one-time password is one no more."""
        try:
            check_new_password(new)
        except WeakPasswordError as exc:
            raise InvalidAuthRequestError(f"new {exc}") from None
        if new == current:
            raise InvalidAuthRequestError("new: the same as the current password")
        await self._check(user, current, client=None)  # the same checks, counts and lock
        await store.set_password(
            self.pool, user, await self._hash(new), self.clock(), one_time=False
        )
        log.info("auth.password_changed", user=user)
