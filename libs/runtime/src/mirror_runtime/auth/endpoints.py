"""auth.api.* on the bus (queue group ``auth``): the accounts, for services without the
database. The NATS door of the operations declared in mirror_schema.auth_operations, and of an
admin's (mirror_schema.account_operations: mirror_runtime.auth.account_endpoints)."""

from typing import Any, Final

import nats.aio.client
import prometheus_client

from mirror_runtime.auth import account_endpoints
from mirror_runtime.auth.accounts import Accounts
from mirror_runtime.implementations import Implementation, implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema import subjects
from mirror_schema.auth_api import (
    AuthenticateRequest,
    AuthenticateResult,
    Done,
    LoginRequest,
    LoginResult,
    LogoutRequest,
    PasswordRequest,
)
from mirror_schema.auth_operations import AUTHENTICATE, LOGIN, LOGOUT, PASSWORD

REQUESTS: Final = prometheus_client.Counter(
    "mirror_auth_requests",
    "Login, authentication and logout requests answered, by operation, door and outcome",
    ["operation", "door", "outcome"],
)


def implementations(accounts: Accounts) -> list[Implementation[Any, Any]]:
    """Each auth operation and what carries it out. The caller (the twin) vouched for by the
    subject is not who acts: the credentials in the request are."""

    async def login(request: LoginRequest, _caller: str | None) -> LoginResult:
        session = await accounts.login(request.user, request.password, request.client)
        return LoginResult(
            session=session.secret,
            csrf=session.csrf,
            principal=session.principal,
            expires_at=session.expires_at,
            password_change_required=session.password_change_required,
        )

    async def authenticate(request: AuthenticateRequest, _caller: str | None) -> AuthenticateResult:
        found = await accounts.authenticate(session=request.session, token=request.token)
        return AuthenticateResult(
            principal=found.principal,
            csrf=found.csrf,
            password_change_required=found.password_change_required,
        )

    async def logout(request: LogoutRequest, _caller: str | None) -> Done:
        await accounts.logout(request.session)
        return Done()

    async def password(request: PasswordRequest, _caller: str | None) -> Done:
        await accounts.change_password(request.user, request.current, request.new)
        return Done()

    return [
        implement(LOGIN, login),
        implement(AUTHENTICATE, authenticate),
        implement(LOGOUT, logout),
        implement(PASSWORD, password),
    ]


class AuthEndpoints(NatsDoor):
    """The subscriptions answering auth.api.* from `accounts`; replicas share them."""

    def __init__(self, nc: nats.aio.client.Client, accounts: Accounts) -> None:
        super().__init__(
            nc,
            [*implementations(accounts), *account_endpoints.implementations(accounts.pool)],
            queue=subjects.AUTH_QUEUE_GROUP,
            requests=REQUESTS,
        )
