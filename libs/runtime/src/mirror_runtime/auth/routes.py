"""/api/auth/login, /logout, /me and /password: the HTTP door to an Authority."""

from collections.abc import Awaitable, Callable

import msgspec
from fastapi import APIRouter, Request, Response

from mirror_runtime.auth.accounts import Authority
from mirror_runtime.auth.credentials import csrf_token
from mirror_runtime.auth.endpoints import REQUESTS
from mirror_runtime.auth.errors import (
    InvalidAuthRequestError,
    LockedError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    decode_request,
)
from mirror_runtime.auth.middleware import (
    SESSION_COOKIE,
    password_change_required,
    principal_of,
)
from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.auth.sockets import LiveSockets, credential_key
from mirror_runtime.doors import TRANSIENT, guard_http, json_response
from mirror_schema.auth_api import Password, Principal, UserName


class LoginBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of POST /api/auth/login."""

    user: UserName
    password: Password


class PasswordBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of POST /api/auth/password: the current password proves it is them."""

    current: Password
    new: Password


class MeResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who is logged in, and the CSRF token their changes must carry (sessions only)."""

    principal: Principal
    csrf: str | None = None
    expires_at: str | None = None
    # Logged in with a one-time password: only POST /api/auth/password until it is changed.
    password_change_required: bool = False


def _json_body(request: Request) -> None:
    """Refuse a body that does not say it is JSON (a form post from another page would not)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMediaTypeError(
            f"Content-Type: {kind or 'none'}; this route takes application/json only"
        )


def auth_router(authority: Authority, settings: AuthSettings, sockets: LiveSockets) -> APIRouter:
    """The login routes over `authority`; what ends a session closes its `sockets`."""
    router = APIRouter()

    async def guarded(operation: str, run: Callable[[], Awaitable[Response]]) -> Response:
        return await guard_http(operation, run, requests=REQUESTS, transient=TRANSIENT)

    @router.post("/api/auth/login")
    async def login(request: Request) -> Response:
        async def run() -> Response:
            _json_body(request)
            body = decode_request(await request.body(), LoginBody)
            # The peer's address; X-Forwarded-For is taken only from the configured proxies
            # (MIRROR_STAGE_TRUSTED_PROXIES, applied by the server).
            client = request.client.host if request.client else None
            try:
                session = await authority.login(body.user, body.password, client)
            except LockedError as exc:
                response = json_response({"detail": exc.detail}, 429)
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after_seconds)))
                return response
            response = json_response(
                MeResponse(
                    principal=session.principal,
                    csrf=session.csrf,
                    expires_at=session.expires_at.isoformat(),
                    password_change_required=session.password_change_required,
                )
            )
            response.set_cookie(
                SESSION_COOKIE,
                session.secret,
                max_age=int(settings.session_hours * 3600),
                path="/",
                httponly=True,
                samesite="strict",
                secure=settings.secure_cookies,
            )
            return response

        return await guarded("login", run)

    @router.post("/api/auth/logout")
    async def logout(request: Request) -> Response:
        async def run() -> Response:
            session = request.cookies.get(SESSION_COOKIE)
            if session is not None:
                await authority.logout(session)
                sockets.close_credential(credential_key(session=session))
            response = Response(status_code=204)
            response.delete_cookie(
                SESSION_COOKIE,
                path="/",
                httponly=True,
                samesite="strict",
                secure=settings.secure_cookies,
            )
            return response

        return await guarded("logout", run)

    @router.get("/api/auth/me")
    async def me(request: Request) -> Response:
        async def run() -> Response:
            principal = principal_of(request)
            if principal is None:
                raise UnauthorizedError("not logged in")
            session = request.cookies.get(SESSION_COOKIE)
            by_session = principal.kind == "user" and session is not None
            csrf = csrf_token(session) if by_session and session else None
            return json_response(
                MeResponse(
                    principal=principal,
                    csrf=csrf,
                    password_change_required=password_change_required(request),
                )
            )

        return await guarded("me", run)

    @router.post("/api/auth/password")
    async def password(request: Request) -> Response:
        async def run() -> Response:
            principal = principal_of(request)
            if principal is None or principal.kind != "user":
                raise InvalidAuthRequestError("only a logged-in user changes their password")
            _json_body(request)
            body = decode_request(await request.body(), PasswordBody)
            await authority.change_password(principal.name, body.current, body.new)
            sockets.close_user(principal.name)  # every session of the user has ended
            return Response(status_code=204)

        return await guarded("password", run)

    return router
