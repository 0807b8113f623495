"""auth.api.users.* and auth.api.tokens.*: an admin's management of users and API tokens,
carried out on the database with the very functions of `mirror-stage user|token`
(mirror_runtime.auth.admin), so that both have the same effects: a removed user's sessions
end, a reset password ends them too, the last admin stays one.

Only the twin (acting for the admin it logged in: its HTTP door let none but an admin through,
mirror_runtime.auth.policy) and the stack's admin identity may ask; the bus's permissions
already keep every other identity off these subjects, and this refuses them again. Each
change is logged with who made it.
"""

from collections.abc import Awaitable
from typing import Any, Final, TypeVar

import asyncpg
import structlog

from mirror_runtime.auth import admin, store
from mirror_runtime.auth.errors import ForbiddenError
from mirror_runtime.doors import ApiError
from mirror_runtime.implementations import Implementation, implement
from mirror_schema import account_operations as ops
from mirror_schema.account_api import (
    AddedToken,
    AddTokenRequest,
    AddUserRequest,
    NameRequest,
    OneTimePassword,
    TokenRecord,
    UserRecord,
    UserRoleRequest,
)
from mirror_schema.api import Items, NoRequest, Removed
from mirror_schema.identities import ADMIN, GATEWAY

__all__ = ["implementations", "user_record"]

log = structlog.get_logger()

# The callers that may manage accounts, as the NATS door names a caller acting for no one.
TRUSTED_CALLERS: Final = frozenset({f"nats:{GATEWAY}", f"nats:{ADMIN}"})

T = TypeVar("T")


def user_record(row: store.UserListRow) -> UserRecord:
    """The wire form of a listed user."""
    return UserRecord(
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        locked_until=row.locked_until,
        last_login_at=row.last_login_at,
        password_change_required=row.password_change_required,
    )


def _check_caller(actor: str | None) -> str:
    """Who acts, when they may: an operator the twin names, or a trusted caller itself."""
    if actor is None or (actor.startswith("nats:") and actor not in TRUSTED_CALLERS):
        raise ForbiddenError(
            f"{actor or 'an unnamed caller'} may not manage users and tokens: an admin does, "
            "through the twin (/api/admin/...) or mirror-stage user|token"
        )
    return actor


async def _carried_out(change: Awaitable[T]) -> T:
    """The change's result, or its refusal as the ApiError naming the field."""
    try:
        return await change
    except admin.NoSuchAccountError as exc:
        raise ApiError(f"name: {exc}", code="not_found") from None
    except (admin.AccountExistsError, admin.LastAdminError) as exc:
        raise ApiError(f"name: {exc}", code="conflict") from None
    except admin.AdminError as exc:
        raise ApiError(f"name: {exc}", code="invalid") from None


def implementations(pool: asyncpg.Pool) -> list[Implementation[Any, Any]]:
    """Each account operation and what carries it out on `pool`."""

    async def users(_request: NoRequest, actor: str | None) -> Items[UserRecord]:
        _check_caller(actor)
        return Items(items=[user_record(row) for row in await store.list_users(pool)])

    async def add_user(request: AddUserRequest, actor: str | None) -> OneTimePassword:
        by = _check_caller(actor)
        password = await _carried_out(admin.add_user(pool, request.name, request.role))
        log.info("auth.user_added", user=request.name, role=request.role, by=by)
        return OneTimePassword(name=request.name, role=request.role, one_time_password=password)

    async def set_role(request: UserRoleRequest, actor: str | None) -> UserRecord:
        by = _check_caller(actor)
        await _carried_out(admin.set_role(pool, request.name, request.role))
        log.info("auth.role_changed", user=request.name, role=request.role, by=by)
        row = await store.listed_user(pool, request.name)
        if row is None:  # removed meanwhile
            raise ApiError(f"name: no user {request.name!r}", code="not_found")
        return user_record(row)

    async def reset_password(request: NameRequest, actor: str | None) -> OneTimePassword:
        by = _check_caller(actor)
        password = await _carried_out(admin.reset_password(pool, request.name))
        row = await store.listed_user(pool, request.name)
        if row is None:
            raise ApiError(f"name: no user {request.name!r}", code="not_found")
        log.info("auth.password_reset", user=request.name, by=by)
        return OneTimePassword(name=row.name, role=row.role, one_time_password=password)

    async def remove_user(request: NameRequest, actor: str | None) -> Removed:
        by = _check_caller(actor)
        await _carried_out(admin.remove_user(pool, request.name))
        log.info("auth.user_removed", user=request.name, by=by)
        return Removed(id=request.name)

    async def tokens(_request: NoRequest, actor: str | None) -> Items[TokenRecord]:
        _check_caller(actor)
        rows = await store.list_tokens(pool)
        return Items(
            items=[
                TokenRecord(
                    name=row.name,
                    role=row.role,
                    created_at=row.created_at,
                    last_used_at=row.last_used_at,
                )
                for row in rows
            ]
        )

    async def add_token(request: AddTokenRequest, actor: str | None) -> AddedToken:
        by = _check_caller(actor)
        token = await _carried_out(admin.add_token(pool, request.name, request.role))
        log.info("auth.token_added", token=request.name, role=request.role, by=by)
        return AddedToken(name=request.name, role=request.role, token=token)

    async def revoke_token(request: NameRequest, actor: str | None) -> Removed:
        by = _check_caller(actor)
        await _carried_out(admin.remove_token(pool, request.name))
        log.info("auth.token_revoked", token=request.name, by=by)
        return Removed(id=request.name)

    return [
        implement(ops.USERS_LIST, users),
        implement(ops.USERS_ADD, add_user),
        implement(ops.USERS_ROLE, set_role),
        implement(ops.USERS_PASSWORD, reset_password),
        implement(ops.USERS_REMOVE, remove_user),
        implement(ops.TOKENS_LIST, tokens),
        implement(ops.TOKENS_ADD, add_token),
        implement(ops.TOKENS_REVOKE, revoke_token),
    ]
