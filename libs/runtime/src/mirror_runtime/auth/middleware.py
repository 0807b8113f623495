"""AuthMiddleware: every protected HTTP request and WebSocket proves who it is, or is refused.

Credentials: ``Authorization: Bearer <API token>``, or the session cookie. A change (POST,
PUT, PATCH, DELETE) made with the cookie must also carry the session's CSRF token in
``X-CSRF-Token``, and a change or a socket from a browser whose ``Origin`` is another site is
refused, public routes (the login) included, so another site cannot act with an operator's
cookie. A session opened with a one-time password may only change it. The principal reaches
the routes as ``request.state.principal``; a WebSocket is held by LiveSockets, which bounds a
principal's sockets and closes them when the credential ends.
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
from mirror_runtime.auth.policy import PASSWORD_CHANGE_ALLOWS, SAFE_METHODS, AccessPolicy
from mirror_runtime.auth.sockets import LiveSockets
from mirror_runtime.doors import TRANSIENT, ApiError
from mirror_schema.auth_api import Principal, role_allows

log = structlog.get_logger()

SESSION_COOKIE: Final = "mirror_session"
CSRF_HEADER: Final = "x-csrf-token"
# A WebSocket refused before it is accepted: the client sees HTTP 403.
POLICY_VIOLATION: Final = 1008
MUST_CHANGE_FIRST: Final = (
    "a password change is required: this session was opened with a one-time password, which "
    'must be replaced first (POST /api/auth/password {"current", "new"}), then log in again'
)


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


def password_change_required(connection: HTTPConnection) -> bool:
    """Whether the session asking was opened with a one-time password."""
    return getattr(connection.state, "password_change_required", False) is True


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


def _foreign(connection: HTTPConnection) -> ForbiddenError:
    return ForbiddenError(f"origin {connection.headers.get('origin')!r} is not this site: refused")


def _bearer(connection: HTTPConnection) -> str | None:
    """The API token of ``Authorization: Bearer``; None without the header."""
    authorization = connection.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("Authorization: expected 'Bearer <token>'")
    return token.strip()


class AuthMiddleware:
    """Pure ASGI, so that it guards WebSockets as well as HTTP."""

    def __init__(
        self, app: ASGIApp, *, authority: Authority, policy: AccessPolicy, sockets: LiveSockets
    ) -> None:
        self.app = app
        self.authority = authority
        self.policy = policy
        self.sockets = sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        method = scope.get("method", "GET")
        needed = self.policy.required_role(method, scope["path"])
        if needed is None:
            if (
                scope["type"] == "http"
                and method not in SAFE_METHODS
                and not _same_origin(connection)
            ):
                await self._refuse(scope, receive, send, _foreign(connection))
                return
            await self.app(scope, receive, send)
            return
        try:
            found = await self._authenticate(connection, method)
            if found.password_change_required and (
                scope["type"] == "websocket"
                or (method, scope["path"]) not in PASSWORD_CHANGE_ALLOWS
            ):
                raise ForbiddenError(MUST_CHANGE_FIRST)
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
        state = scope.setdefault("state", {})
        state["principal"] = found.principal
        state["password_change_required"] = found.password_change_required
        if scope["type"] == "websocket":
            token = _bearer(connection)
            await self.sockets.serve(
                self.app,
                scope,
                receive,
                send,
                found.principal,
                session=None if token is not None else connection.cookies.get(SESSION_COOKIE),
                token=token,
            )
            return
        await self.app(scope, receive, send)

    async def _authenticate(self, connection: HTTPConnection, method: str) -> Authenticated:
        if not _same_origin(connection):
            raise _foreign(connection)
        token = _bearer(connection)
        if token is not None:
            return await self.authority.authenticate(token=token)
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
