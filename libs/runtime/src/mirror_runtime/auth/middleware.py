"""AuthMiddleware: every protected HTTP request and WebSocket proves who it is, or is refused.

Credentials: ``Authorization: Bearer <API token>``, or the session cookie. A change (POST,
PUT, PATCH, DELETE) made with the cookie must also carry the session's CSRF token in
``X-CSRF-Token``, and a request from a browser whose ``Origin`` is another site is refused, so
another site cannot act with an operator's cookie. The principal reaches the routes as
``request.state.principal``.
"""

from typing import Final
from urllib.parse import urlsplit

import structlog
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mirror_runtime.auth.accounts import Authenticated, Authority
from mirror_runtime.auth.credentials import csrf_matches
from mirror_runtime.auth.errors import ForbiddenError, UnauthorizedError
from mirror_runtime.auth.policy import SAFE_METHODS, AccessPolicy
from mirror_runtime.doors import TRANSIENT, ApiError
from mirror_schema.auth_api import Principal, role_allows

log = structlog.get_logger()

SESSION_COOKIE: Final = "mirror_session"
CSRF_HEADER: Final = "x-csrf-token"
# A WebSocket refused before it is accepted: the client sees HTTP 403.
POLICY_VIOLATION: Final = 1008


class AccountsUnavailableError(ApiError):
    """The accounts could not be checked (the database or the bus is away): 503."""

    status = 503
    code = "unavailable"

    def __init__(self, cause: str) -> None:
        super().__init__(f"cannot check credentials now ({cause}); try again")


def principal_of(connection: HTTPConnection) -> Principal | None:
    """Who is asking (None when the route is public or authentication is off)."""
    principal = getattr(connection.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


def actor_of(connection: HTTPConnection, claimed: str | None) -> str | None:
    """Who the audit trail names: the authenticated principal; the body's claim only when
    authentication is off."""
    principal = principal_of(connection)
    return principal.actor if principal is not None else claimed


def _same_origin(connection: HTTPConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (browsers always send it on those)
    return urlsplit(origin).netloc == connection.headers.get("host")


class AuthMiddleware:
    """Pure ASGI, so that it guards WebSockets as well as HTTP."""

    def __init__(self, app: ASGIApp, *, authority: Authority, policy: AccessPolicy) -> None:
        self.app = app
        self.authority = authority
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        method = scope.get("method", "GET")
        needed = self.policy.required_role(method, scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        try:
            found = await self._authenticate(connection, method)
            if not role_allows(found.principal.role, needed):
                raise ForbiddenError(
                    f"{found.principal.actor} is a {found.principal.role}: "
                    f"{method} {scope['path']} needs the {needed} role"
                )
        except ApiError as exc:
            await self._refuse(scope, receive, send, exc)
            return
        except TRANSIENT as exc:
            log.warning("auth.unavailable", error=str(exc))
            await self._refuse(scope, receive, send, AccountsUnavailableError(str(exc)))
            return
        scope.setdefault("state", {})["principal"] = found.principal
        await self.app(scope, receive, send)

    async def _authenticate(self, connection: HTTPConnection, method: str) -> Authenticated:
        if not _same_origin(connection):
            raise ForbiddenError(
                f"origin {connection.headers.get('origin')!r} is not this site: refused"
            )
        authorization = connection.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthorizedError("Authorization: expected 'Bearer <token>'")
            return await self.authority.authenticate(token=token.strip())
        session = connection.cookies.get(SESSION_COOKIE)
        if session is None:
            raise UnauthorizedError(
                "no credentials: log in (POST /api/auth/login), or send "
                "Authorization: Bearer <token>"
            )
        found = await self.authority.authenticate(session=session)
        if connection.scope["type"] == "http" and method not in SAFE_METHODS:
            sent = connection.headers.get(CSRF_HEADER)
            if sent is None or not csrf_matches(session, sent):
                raise ForbiddenError(
                    "X-CSRF-Token: missing or wrong; send the csrf value of the login reply "
                    "(or GET /api/auth/me)"
                )
        return found

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: ApiError) -> None:
        log.info("auth.refused", path=scope["path"], status=exc.status, detail=exc.detail)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="mirror-stage"'
        response = JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)
        await response(scope, receive, send)
