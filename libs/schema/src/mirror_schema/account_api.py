"""An admin's management of operators' logins and API tokens: the messages of
``auth.api.users.*`` and ``auth.api.tokens.*`` (mirror_schema.account_operations).

Every service holding the database answers them; the twin forwards an admin's HTTP calls
(``/api/admin/...``) to them, as ``mirror-stage user|token`` does its work on the database
directly. Secrets (a one-time password, a token) are in a result once and never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from mirror_schema.auth_api import USER_NAME_PATTERN, Role

__all__ = [
    "AccountName",
    "AddTokenRequest",
    "AddUserRequest",
    "AddedToken",
    "NameRequest",
    "OneTimePassword",
    "TokenRecord",
    "UserRecord",
    "UserRoleRequest",
]

# A user's or token's name: lowercase letters, digits and "_ . @ -", up to 64.
AccountName = Annotated[str, msgspec.Meta(pattern=USER_NAME_PATTERN)]
Actor = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An operator as an admin sees them (never their password's hash)."""

    name: str
    role: Role
    created_at: datetime
    # Too many wrong passwords: refused until then (None: not locked).
    locked_until: datetime | None
    last_login_at: datetime | None
    # Their password is a one-time one (an admin's): their next login must replace it.
    password_change_required: bool


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An API token as listed (never its secret)."""

    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None


class AddUserRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``auth.api.users.add`` and ``POST /api/admin/users``: a new user with a one-time
    password."""

    name: AccountName
    role: Role
    by: Actor | None = None


class UserRoleRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``auth.api.users.role`` and ``PUT /api/admin/users/{name}/role`` (body: ``role``)."""

    name: AccountName
    role: Role
    by: Actor | None = None


class NameRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One user or token by name: a password reset, a removal, a revocation."""

    name: AccountName
    by: Actor | None = None


class AddTokenRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``auth.api.tokens.add`` and ``POST /api/admin/tokens``: a new API token."""

    name: AccountName
    role: Role
    by: Actor | None = None


class OneTimePassword(msgspec.Struct, frozen=True, kw_only=True):
    """A user's one-time password, shown this once: their first login must replace it."""

    name: str
    role: Role
    one_time_password: str


class AddedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A new API token, shown this once: send it as ``Authorization: Bearer <token>``."""

    name: str
    role: Role
    token: str
