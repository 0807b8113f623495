"""SQL of the auth tables; no policy (mirror_runtime.auth.accounts decides)."""

from datetime import datetime
from typing import Final, Literal

import asyncpg
import msgspec

from mirror_runtime.pg import Conn
from mirror_schema.auth_api import Role


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """One operator as stored."""

    name: str
    role: Role
    password_hash: str
    # Set with a one-time password (an admin's): nothing but changing it until then.
    password_change_required: bool


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A live session's owner."""

    user_name: str
    role: Role
    last_seen_at: datetime
    password_change_required: bool


class TokenRow(msgspec.Struct, frozen=True, kw_only=True):
    """An API token as listed (never its secret)."""

    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None


class UserListRow(msgspec.Struct, frozen=True, kw_only=True):
    """An operator as listed (never the hash)."""

    name: str
    role: Role
    created_at: datetime
    locked_until: datetime | None
    last_login_at: datetime | None = None
    password_change_required: bool = False


# What a change of a user came to: done, no such user, or refused because the user is the
# last admin (the stack would be left with no one to manage it).
UserChange = Literal["done", "missing", "last_admin"]


async def user(pool: asyncpg.Pool, name: str) -> UserRow | None:
    """The user called `name`."""
    row = await pool.fetchrow(
        "SELECT name, role, password_hash, password_change_required FROM auth_users "
        "WHERE name = $1",
        name,
    )
    return None if row is None else UserRow(**dict(row))


async def add_user(
    pool: asyncpg.Pool, name: str, role: Role, password_hash: str, *, one_time: bool = True
) -> bool:
    """Create a user (whose password, given by an admin, is one-time); False: the name is taken."""
    status: str = await pool.execute(
        "INSERT INTO auth_users (name, role, password_hash, password_change_required) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        name,
        role,
        password_hash,
        one_time,
    )
    return status.endswith(" 1")


async def _is_last_admin(conn: Conn, name: str) -> bool:
    """Whether `name` is the only admin, with every admin's row locked until the transaction
    ends: two admins demoting or removing each other at once are taken one after the other,
    and the second sees that the first left one admin only."""
    admins = await conn.fetch(
        "SELECT name FROM auth_users WHERE role = 'admin' ORDER BY name FOR UPDATE"
    )
    return [row["name"] for row in admins] == [name]


async def set_role(pool: asyncpg.Pool, name: str, role: Role) -> UserChange:
    """Change a user's role, unless that leaves no admin."""
    async with pool.acquire() as conn, conn.transaction():
        if role != "admin" and await _is_last_admin(conn, name):
            return "last_admin"
        status: str = await conn.execute(
            "UPDATE auth_users SET role = $2 WHERE name = $1", name, role
        )
    return "done" if status.endswith(" 1") else "missing"


async def remove_user(pool: asyncpg.Pool, name: str) -> UserChange:
    """Delete a user and (by cascade) their sessions, unless they are the last admin."""
    async with pool.acquire() as conn, conn.transaction():
        if await _is_last_admin(conn, name):
            return "last_admin"
        status: str = await conn.execute("DELETE FROM auth_users WHERE name = $1", name)
    return "done" if status.endswith(" 1") else "missing"


async def count_users(pool: asyncpg.Pool) -> int:
    """How many users exist."""
    count: int = await pool.fetchval("SELECT count(*) FROM auth_users")
    return count


_USER_LIST: Final = (
    "SELECT u.name, u.role, u.created_at, a.locked_until, u.last_login_at, "
    "u.password_change_required FROM auth_users u "
    "LEFT JOIN auth_attempts a ON a.name = u.name"
)


async def list_users(pool: asyncpg.Pool) -> list[UserListRow]:
    """Every user, by name."""
    rows = await pool.fetch(f"{_USER_LIST} ORDER BY u.name")
    return [UserListRow(**dict(row)) for row in rows]


async def listed_user(pool: asyncpg.Pool, name: str) -> UserListRow | None:
    """The user `name` as listed."""
    row = await pool.fetchrow(f"{_USER_LIST} WHERE u.name = $1", name)
    return None if row is None else UserListRow(**dict(row))


async def set_password(
    pool: asyncpg.Pool, name: str, password_hash: str, now: datetime, *, one_time: bool
) -> bool:
    """Replace a user's password (`one_time`: an admin's, to be changed at first login), unlock
    them and end all their sessions; False when there is no such user."""
    async with pool.acquire() as conn, conn.transaction():
        status: str = await conn.execute(
            "UPDATE auth_users SET password_hash = $2, password_changed_at = $3, "
            "password_change_required = $4 WHERE name = $1",
            name,
            password_hash,
            now,
            one_time,
        )
        await conn.execute("DELETE FROM auth_sessions WHERE user_name = $1", name)
        await conn.execute("DELETE FROM auth_attempts WHERE name = $1", name)
    return status.endswith(" 1")


async def rehash(pool: asyncpg.Pool, name: str, old_hash: str, new_hash: str) -> None:
    """Store the same password hashed anew, unless it changed meanwhile (sessions stay)."""
    await pool.execute(
        "UPDATE auth_users SET password_hash = $3 WHERE name = $1 AND password_hash = $2",
        name,
        old_hash,
        new_hash,
    )


async def unlock(pool: asyncpg.Pool, name: str) -> bool:
    """Clear a user's failed logins and lock; False when there is no such user."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM auth_attempts WHERE name = $1", name)
        found: bool = await conn.fetchval(
            "SELECT EXISTS (SELECT FROM auth_users WHERE name = $1)", name
        )
    return found


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """A login attempt reserved, or refused because the name is locked until `locked_until`."""

    allowed: bool
    locked_until: datetime | None = None


async def reserve_attempt(
    pool: asyncpg.Pool,
    name: str,
    *,
    max_failures: int,
    now: datetime,
    lock_until: datetime,
    window_start: datetime,
) -> Attempt:
    """Count a login attempt for `name` (known or not) before its password is checked, in one
    statement, so that concurrent attempts on every replica share the count: the
    `max_failures`-th within the window (none before `window_start`) locks the name until
    `lock_until`; while locked, nothing is counted and the attempt is refused. A success
    forgets the count (open_session)."""
    async with pool.acquire() as conn:
        failures: int | None = await conn.fetchval(
            """
            INSERT INTO auth_attempts AS a (name, failures, locked_until, last_at)
            VALUES ($1, 1, CASE WHEN $2 <= 1 THEN $3::timestamptz END, $4)
            ON CONFLICT (name) DO UPDATE SET
                failures = CASE WHEN a.last_at <= $5 OR a.locked_until IS NOT NULL THEN 1
                                ELSE a.failures + 1 END,
                locked_until = CASE
                    WHEN (CASE WHEN a.last_at <= $5 OR a.locked_until IS NOT NULL THEN 1
                               ELSE a.failures + 1 END) >= $2 THEN $3::timestamptz END,
                last_at = $4
            WHERE a.locked_until IS NULL OR a.locked_until <= $4
            RETURNING failures
            """,
            name,
            max_failures,
            lock_until,
            now,
            window_start,
        )
        if failures is not None:
            # Names tried once and long quiet (unknown ones mostly) are forgotten.
            await conn.execute(
                "DELETE FROM auth_attempts WHERE last_at <= $1 "
                "AND (locked_until IS NULL OR locked_until <= $2)",
                window_start,
                now,
            )
            return Attempt(allowed=True)
        locked: datetime | None = await conn.fetchval(
            "SELECT locked_until FROM auth_attempts WHERE name = $1", name
        )
    return Attempt(allowed=False, locked_until=locked)


async def open_session(
    pool: asyncpg.Pool, digest: str, user_name: str, now: datetime, expires_at: datetime
) -> None:
    """Record a new session, forget the user's failed attempts and sessions long expired."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM auth_attempts WHERE name = $1", user_name)
        await conn.execute(
            "UPDATE auth_users SET last_login_at = $2 WHERE name = $1", user_name, now
        )
        await conn.execute(
            "INSERT INTO auth_sessions (digest, user_name, created_at, expires_at, last_seen_at) "
            "VALUES ($1, $2, $3, $4, $3)",
            digest,
            user_name,
            now,
            expires_at,
        )
        await conn.execute("DELETE FROM auth_sessions WHERE expires_at < $1", now)


async def session(
    pool: asyncpg.Pool, digest: str, now: datetime, idle_since: datetime
) -> SessionRow | None:
    """The live session with this digest (not expired, used after `idle_since`)."""
    row = await pool.fetchrow(
        "SELECT s.user_name, u.role, s.last_seen_at, u.password_change_required "
        "FROM auth_sessions s "
        "JOIN auth_users u ON u.name = s.user_name "
        "WHERE s.digest = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        digest,
        now,
        idle_since,
    )
    return None if row is None else SessionRow(**dict(row))


async def touch_session(pool: asyncpg.Pool, digest: str, now: datetime) -> None:
    """Mark a session used now."""
    await pool.execute("UPDATE auth_sessions SET last_seen_at = $2 WHERE digest = $1", digest, now)


async def close_session(pool: asyncpg.Pool, digest: str) -> None:
    """End a session (nothing when it has already ended)."""
    await pool.execute("DELETE FROM auth_sessions WHERE digest = $1", digest)


async def add_token(pool: asyncpg.Pool, name: str, digest: str, role: Role) -> bool:
    """Record an API token; False when the name is taken."""
    status: str = await pool.execute(
        "INSERT INTO auth_tokens (name, digest, role) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO NOTHING",
        name,
        digest,
        role,
    )
    return status.endswith(" 1")


async def remove_token(pool: asyncpg.Pool, name: str) -> bool:
    """Delete an API token; False when there was none."""
    status: str = await pool.execute("DELETE FROM auth_tokens WHERE name = $1", name)
    return status.endswith(" 1")


async def list_tokens(pool: asyncpg.Pool) -> list[TokenRow]:
    """Every API token, by name."""
    rows = await pool.fetch(
        "SELECT name, role, created_at, last_used_at FROM auth_tokens ORDER BY name"
    )
    return [TokenRow(**dict(row)) for row in rows]


async def token(pool: asyncpg.Pool, digest: str) -> TokenRow | None:
    """The token with this digest."""
    row = await pool.fetchrow(
        "SELECT name, role, created_at, last_used_at FROM auth_tokens WHERE digest = $1", digest
    )
    return None if row is None else TokenRow(**dict(row))


async def touch_token(pool: asyncpg.Pool, name: str, now: datetime) -> None:
    """Mark a token used now."""
    await pool.execute("UPDATE auth_tokens SET last_used_at = $2 WHERE name = $1", name, now)
