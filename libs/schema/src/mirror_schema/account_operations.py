"""An admin's operations on users and API tokens, each declared once: every service holding
the database answers them on the bus (mirror_runtime.auth.account_endpoints), the twin
forwards them from ``/api/admin/...`` (mirror_schema.forwarded), where only an admin may call
them (mirror_runtime.auth.policy), and docs/openapi.json lists them."""

from __future__ import annotations

from typing import Final

from mirror_schema import subjects
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
from mirror_schema.api import Http, Items, NoRequest, Operation, Removed
from mirror_schema.auth_operations import HASHING_REPLY_WITHIN_SECONDS

__all__ = [
    "ADMIN_PREFIX",
    "OPERATIONS",
    "TOKENS_ADD",
    "TOKENS_LIST",
    "TOKENS_REVOKE",
    "USERS_ADD",
    "USERS_LIST",
    "USERS_PASSWORD",
    "USERS_REMOVE",
    "USERS_ROLE",
]

SERVICE: Final = "auth"
# Where every admin route starts: the access policy requires the admin role under it.
ADMIN_PREFIX: Final = "/api/admin/"

USERS_LIST: Final = Operation(
    service=SERVICE,
    name="users_list",
    summary="Every user with their role, lock and last login, by name",
    request=NoRequest,
    result=Items[UserRecord],
    subject=subjects.AUTH_API_USERS_LIST,
    http=Http(method="GET", path="/api/admin/users"),
    errors=(),
)
USERS_ADD: Final = Operation(
    service=SERVICE,
    name="users_add",
    summary="Add a user with a one-time password, answered once (their first login replaces it)",
    request=AddUserRequest,
    result=OneTimePassword,
    subject=subjects.AUTH_API_USERS_ADD,
    http=Http(method="POST", path="/api/admin/users", status=201),
    errors=("invalid", "malformed", "conflict", "forbidden"),
    actor="by",
    reply_within_seconds=HASHING_REPLY_WITHIN_SECONDS,
)
USERS_ROLE: Final = Operation(
    service=SERVICE,
    name="users_role",
    summary="Change a user's role (never the last admin's); it holds from their next request",
    request=UserRoleRequest,
    result=UserRecord,
    subject=subjects.AUTH_API_USERS_ROLE,
    http=Http(method="PUT", path="/api/admin/users/{name}/role"),
    errors=("invalid", "malformed", "not_found", "conflict", "forbidden"),
    actor="by",
)
USERS_PASSWORD: Final = Operation(
    service=SERVICE,
    name="users_password",
    summary="A new one-time password for a user, answered once; their sessions end and any "
    "lock is lifted",
    request=NameRequest,
    result=OneTimePassword,
    subject=subjects.AUTH_API_USERS_PASSWORD,
    http=Http(method="POST", path="/api/admin/users/{name}/password"),
    errors=("invalid", "malformed", "not_found", "forbidden"),
    actor="by",
    reply_within_seconds=HASHING_REPLY_WITHIN_SECONDS,
)
USERS_REMOVE: Final = Operation(
    service=SERVICE,
    name="users_remove",
    summary="Remove a user (never the last admin); their sessions end",
    request=NameRequest,
    result=Removed,
    subject=subjects.AUTH_API_USERS_REMOVE,
    http=Http(method="DELETE", path="/api/admin/users/{name}", no_content=True),
    errors=("invalid", "malformed", "not_found", "conflict", "forbidden"),
    actor="by",
)
TOKENS_LIST: Final = Operation(
    service=SERVICE,
    name="tokens_list",
    summary="Every API token with its role and last use, by name (never its secret)",
    request=NoRequest,
    result=Items[TokenRecord],
    subject=subjects.AUTH_API_TOKENS_LIST,
    http=Http(method="GET", path="/api/admin/tokens"),
    errors=(),
)
TOKENS_ADD: Final = Operation(
    service=SERVICE,
    name="tokens_add",
    summary="Add an API token, its secret answered once",
    request=AddTokenRequest,
    result=AddedToken,
    subject=subjects.AUTH_API_TOKENS_ADD,
    http=Http(method="POST", path="/api/admin/tokens", status=201),
    errors=("invalid", "malformed", "conflict", "forbidden"),
    actor="by",
)
TOKENS_REVOKE: Final = Operation(
    service=SERVICE,
    name="tokens_revoke",
    summary="Revoke an API token: it is refused from the next request",
    request=NameRequest,
    result=Removed,
    subject=subjects.AUTH_API_TOKENS_REVOKE,
    http=Http(method="DELETE", path="/api/admin/tokens/{name}", no_content=True),
    errors=("invalid", "malformed", "not_found", "forbidden"),
    actor="by",
)

OPERATIONS: Final = (
    USERS_LIST,
    USERS_ADD,
    USERS_ROLE,
    USERS_PASSWORD,
    USERS_REMOVE,
    TOKENS_LIST,
    TOKENS_ADD,
    TOKENS_REVOKE,
)
