"""`mirror-stage user ...` and `mirror-stage token ...`: operators' logins and API tokens.

They act on the stack's database: MIRROR_STAGE_DB_URL, else the embedded one of a running
`mirror-stage up` (whose address it leaves in DIR/database-url, mode 0600).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from mirror_runtime.auth import admin, store
from mirror_runtime.auth.migrations import migrate_auth
from mirror_schema.auth_api import Role
from mirror_stage.private_files import write_private
from mirror_stage.stack_layout import StackLayout

__all__ = ["database_url_path", "first_admin_line", "run_token_command", "run_user_command"]


def database_url_path(layout: StackLayout) -> Path:
    """Where `mirror-stage up` leaves its database's address for these commands."""
    return layout.data_dir / "database-url"


def remember_database(layout: StackLayout, db_url: str) -> None:
    """Leave the database's address (it holds a password: 0600) for the user commands."""
    write_private(database_url_path(layout), db_url + "\n")


def _database_url(layout: StackLayout) -> str:
    if layout.external_db_url is not None:
        return layout.external_db_url
    try:
        return database_url_path(layout).read_text().strip()
    except OSError:
        raise admin.AdminError(
            f"no database known in {layout.data_dir}: run mirror-stage up first (with the "
            "same --data-dir), or set MIRROR_STAGE_DB_URL"
        ) from None


async def _with_pool(layout: StackLayout, work: Callable[[asyncpg.Pool], Awaitable[str]]) -> str:
    url = _database_url(layout)
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise admin.AdminError(
            f"the stack's database does not answer ({exc}): is mirror-stage up running?"
        ) from None
    try:
        await migrate_auth(pool)
        return await work(pool)
    finally:
        await pool.close()


async def first_admin_line(db_url: str) -> str:
    """Make the first admin when there is no user: the line `mirror-stage up` prints."""
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2, timeout=10)
    try:
        await migrate_auth(pool)
        password = await admin.ensure_first_admin(pool)
        if password is not None:
            return (
                f"first admin: user {admin.FIRST_ADMIN!r}, one-time password {password}\n"
                "  (shown once, and good for one login, which must replace it: the HUD asks, "
                "or POST /api/auth/password; mirror-stage user add NAME --role operator adds "
                "others)"
            )
        users = await store.count_users(pool)
        return (
            f"logins: {users} user(s); mirror-stage user add NAME --role ROLE adds one, "
            "mirror-stage user passwd NAME gives a new one-time password"
        )
    finally:
        await pool.close()


def _run(layout: StackLayout, work: Callable[[asyncpg.Pool], Awaitable[str]]) -> int:
    try:
        print(asyncio.run(_with_pool(layout, work)))  # noqa: T201 - the command's output
    except admin.AdminError as exc:
        print(f"mirror-stage: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def run_user_command(layout: StackLayout, action: str, name: str | None, role: Role) -> int:
    """`mirror-stage user add|passwd|remove|unlock|role NAME` and `user list`; the exit code."""

    async def work(pool: asyncpg.Pool) -> str:
        if action == "list" or name is None:
            rows = await store.list_users(pool)
            return (
                "\n".join(
                    f"{row.name:<24} {row.role:<9} since {row.created_at:%Y-%m-%d}"
                    + (f"  locked until {row.locked_until:%H:%M:%S}" if row.locked_until else "")
                    for row in rows
                )
                or "no users"
            )
        if action == "add":
            password = await admin.add_user(pool, name, role)
            return (
                f"added {name} ({role}); one-time password (shown once): {password}\n"
                "  (their first login must replace it)"
            )
        if action == "passwd":
            password = await admin.reset_password(pool, name)
            return (
                f"new one-time password for {name} (shown once; sessions ended): {password}\n"
                "  (their next login must replace it)"
            )
        if action == "remove":
            await admin.remove_user(pool, name)
            return f"removed {name}; their sessions ended"
        if action == "role":
            await admin.set_role(pool, name, role)
            return f"{name} is now {role}"
        await admin.unlock_user(pool, name)
        return f"unlocked {name}"

    return _run(layout, work)


def _token_line(row: store.TokenRow) -> str:
    used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
    return f"{row.name:<24} {row.role:<9} since {row.created_at:%Y-%m-%d}  last used {used}"


def run_token_command(layout: StackLayout, action: str, name: str | None, role: Role) -> int:
    """`mirror-stage token add|remove NAME` and `token list`; the exit code."""

    async def work(pool: asyncpg.Pool) -> str:
        if action == "list" or name is None:
            return "\n".join(_token_line(row) for row in await store.list_tokens(pool)) or (
                "no tokens"
            )
        if action == "add":
            token = await admin.add_token(pool, name, role)
            return (
                f"added token {name} ({role}); send it as Authorization: Bearer <token> "
                f"(shown once, keep it secret):\n{token}"
            )
        await admin.remove_token(pool, name)
        return f"removed token {name}; it is refused from now on"

    return _run(layout, work)
