"""SQL of the auth tables; no policy (mirror_runtime.auth.accounts decides)."""

from datetime import datetime

import asyncpg
import msgspec

from mirror_schema.auth_api import Role


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """One operator as stored."""

    name: str
    role: Role
    password_hash: str
    locked_until: datetime | None


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A live session's owner."""

    user_name: str
    role: Role
    last_seen_at: datetime


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


async def user(pool: asyncpg.Pool, name: str) -> UserRow | None:
    """The user called `name`."""
    row = await pool.fetchrow(
        "SELECT name, role, password_hash, locked_until FROM auth_users WHERE name = $1", name
    )
    return None if row is None else UserRow(**dict(row))


async def add_user(pool: asyncpg.Pool, name: str, role: Role, password_hash: str) -> bool:
    """Create a user; False when the name is taken."""
    status: str = await pool.execute(
        "INSERT INTO auth_users (name, role, password_hash) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO NOTHING",
        name,
        role,
        password_hash,
    )
    return status.endswith(" 1")


async def set_role(pool: asyncpg.Pool, name: str, role: Role) -> bool:
    """Change a user's role; False when there is no such user."""
    status: str = await pool.execute("UPDATE auth_users SET role = $2 WHERE name = $1", name, role)
    return status.endswith(" 1")


async def remove_user(pool: asyncpg.Pool, name: str) -> bool:
    """Delete a user and (by cascade) their sessions; False when there was none."""
    status: str = await pool.execute("DELETE FROM auth_users WHERE name = $1", name)
    return status.endswith(" 1")


async def count_users(pool: asyncpg.Pool) -> int:
    """How many users exist."""
    count: int = await pool.fetchval("SELECT count(*) FROM auth_users")
    return count


async def list_users(pool: asyncpg.Pool) -> list[UserListRow]:
    """Every user, by name."""
    rows = await pool.fetch(
        "SELECT name, role, created_at, locked_until FROM auth_users ORDER BY name"
    )
    return [UserListRow(**dict(row)) for row in rows]


async def set_password(pool: asyncpg.Pool, name: str, password_hash: str, now: datetime) -> bool:
    """Replace a user's password, unlock them and end all their sessions; False: no such user."""
    async with pool.acquire() as conn, conn.transaction():
        status: str = await conn.execute(
            "UPDATE auth_users SET password_hash = $2, password_changed_at = $3, "
            "failed_logins = 0, locked_until = NULL WHERE name = $1",
            name,
            password_hash,
            now,
        )
        await conn.execute("DELETE FROM auth_sessions WHERE user_name = $1", name)
    return status.endswith(" 1")


async def unlock(pool: asyncpg.Pool, name: str) -> bool:
    """Clear a user's failed logins and lock; False when there is no such user."""
    status: str = await pool.execute(
        "UPDATE auth_users SET failed_logins = 0, locked_until = NULL WHERE name = $1", name
    )
    return status.endswith(" 1")


async def record_failure(
    pool: asyncpg.Pool, name: str, max_failures: int, lock_until: datetime
) -> datetime | None:
    """Count a wrong password; at `max_failures` in a row, lock until `lock_until` and start
    counting again. The lock's end when this failure set it, else None."""
    locked: datetime | None = await pool.fetchval(
        """
        UPDATE auth_users SET
            failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
            locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
        WHERE name = $1
        RETURNING CASE WHEN locked_until = $3 THEN locked_until END
        """,
        name,
        max_failures,
        lock_until,
    )
    return locked


async def open_session(
    pool: asyncpg.Pool, digest: str, user_name: str, now: datetime, expires_at: datetime
) -> None:
    """Record a new session, reset the user's failures, and forget sessions long expired."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE auth_users SET failed_logins = 0, locked_until = NULL WHERE name = $1",
            user_name,
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
        "SELECT s.user_name, u.role, s.last_seen_at FROM auth_sessions s "
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
