"""What an admin does from the command line: users, passwords, API tokens, the first admin."""

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Final

import asyncpg

from mirror_runtime.auth import credentials, store
from mirror_runtime.auth.passwords import hash_password
from mirror_schema.auth_api import Role, valid_user_name

FIRST_ADMIN: Final = "admin"


class AdminError(ValueError):
    """A request that cannot be carried out, saying why."""


class NoSuchAccountError(AdminError):
    """No user or token has this name."""


class AccountExistsError(AdminError):
    """The name is taken."""


class LastAdminError(AdminError):
    """The change would leave the stack with no admin to manage it."""


def _no_user(name: str) -> NoSuchAccountError:
    return NoSuchAccountError(f"no user {name!r}")


def _last_admin(name: str, change: str) -> LastAdminError:
    return LastAdminError(
        f"{name!r} is the last admin: {change} would leave no one to manage users and tokens; "
        "make another user an admin first"
    )


def _check_name(name: str) -> None:
    if not valid_user_name(name):
        raise AdminError(
            f"{name!r}: lowercase letters, digits and '_ . @ -', up to 64, "
            "starting with a letter or digit"
        )


def one_time_password() -> str:
    """A random password to give once (about 120 bits)."""
    return secrets.token_urlsafe(15)


async def add_user(pool: asyncpg.Pool, name: str, role: Role) -> str:
    """Create a user with a one-time password, which is returned (and kept only hashed); their
    first login may only change it."""
    _check_name(name)
    password = one_time_password()
    digest = await asyncio.to_thread(hash_password, password)
    if not await store.add_user(pool, name, role, digest):
        raise AccountExistsError(
            f"user {name!r} exists (a password reset, mirror-stage user passwd {name}, gives "
            "them another)"
        )
    return password


async def reset_password(pool: asyncpg.Pool, name: str) -> str:
    """A new one-time password for `name` (to be changed at their next login); their sessions
    end and any lock is lifted."""
    password = one_time_password()
    digest = await asyncio.to_thread(hash_password, password)
    if not await store.set_password(pool, name, digest, datetime.now(UTC), one_time=True):
        raise _no_user(name)
    return password


async def set_role(pool: asyncpg.Pool, name: str, role: Role) -> None:
    """Change a user's role: their sessions carry the new one from their next request. The
    last admin stays one."""
    changed = await store.set_role(pool, name, role)
    if changed == "missing":
        raise _no_user(name)
    if changed == "last_admin":
        raise _last_admin(name, f"making them a {role}")


async def remove_user(pool: asyncpg.Pool, name: str) -> None:
    """Delete a user; their sessions end at once. The last admin stays."""
    removed = await store.remove_user(pool, name)
    if removed == "missing":
        raise _no_user(name)
    if removed == "last_admin":
        raise _last_admin(name, "removing them")


async def unlock_user(pool: asyncpg.Pool, name: str) -> None:
    """Lift a lock-out."""
    if not await store.unlock(pool, name):
        raise _no_user(name)


async def add_token(pool: asyncpg.Pool, name: str, role: Role) -> str:
    """Create an API token, which is returned (and kept only as its SHA-256)."""
    _check_name(name)
    token = credentials.new_api_token()
    if not await store.add_token(pool, name, credentials.digest(token), role):
        raise AccountExistsError(f"token {name!r} exists (revoke it first to replace it)")
    return token


async def remove_token(pool: asyncpg.Pool, name: str) -> None:
    """Delete an API token; it is refused from the next request."""
    if not await store.remove_token(pool, name):
        raise NoSuchAccountError(f"no token {name!r}")


async def ensure_first_admin(pool: asyncpg.Pool) -> str | None:
    """With no user at all, create ``admin`` and return its one-time password; else None."""
    if await store.count_users(pool) > 0:
        return None
    try:
        return await add_user(pool, FIRST_ADMIN, "admin")
    except AdminError:
        return None  # another process made it first
