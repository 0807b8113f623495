"""What every service's HTTP answers share, whatever the route: a cap on request bodies and the
security headers.

Both are pure ASGI middlewares (so that a body is refused before any of it is buffered, and a
WebSocket passes untouched); the runtime installs them on every app (mirror_runtime.app and
mirror_runtime.serve).
"""

from collections.abc import Mapping
from typing import Final

import structlog
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

# The cap of a request body unless the route is given its own: logins and every JSON API.
DEFAULT_MAX_BODY_BYTES: Final = 64 * 2**10

# The HUD is ES modules, one stylesheet and a canvas, all from its own origin; its socket goes
# back to the same host. Nothing inline, nothing from elsewhere, never inside a frame.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class BodyTooLargeError(Exception):
    """A request body went past its route's cap while being read."""

    def __init__(self, size: str, limit: int, path: str) -> None:
        self.detail = (
            f"body: {size}, over the limit of {limit} bytes for {path}; send a smaller body"
        )
        super().__init__(self.detail)


class BodyLimitMiddleware:
    """Refuse a body over its cap with 413: at once when Content-Length says so, else as soon
    as the bytes read pass it (a chunked body), never holding more than the cap.

    What is left of a refused body is read and dropped up to DRAIN_BYTES, so that the client,
    still sending, can read the answer (a server that closes with unread bytes resets the
    connection, and the answer may be lost); past that the connection is closed after it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = DEFAULT_MAX_BODY_BYTES,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.get(path, self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            drained = declared <= DRAIN_BYTES and await _drain(receive, 0)
            await _too_large(
                scope, send, BodyTooLargeError(f"{declared} bytes", limit, path), drained
            )
            return
        received = 0
        more = True
        started = False

        async def counted() -> Message:
            nonlocal received, more
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                more = bool(message.get("more_body", False))
                if received > limit:
                    raise BodyTooLargeError(f"more than {limit} bytes", limit, path)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLargeError as exc:
            if started:
                raise
            drained = not more or await _drain(receive, received)
            await _too_large(scope, send, exc, drained)


# Of a refused body, at most this much more is read (and dropped) before answering.
DRAIN_BYTES: Final = 4 * 2**20


async def _drain(receive: Receive, received: int) -> bool:
    """Read what is left of the body and drop it; False when it goes past DRAIN_BYTES."""
    while received <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return False  # the client went away
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return received <= DRAIN_BYTES
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one itself
    return None


async def _too_large(scope: Scope, send: Send, exc: BodyTooLargeError, drained: bool) -> None:
    log.warning("http.body_too_large", path=scope["path"], detail=exc.detail)
    headers = {} if drained else {"Connection": "close"}
    response = JSONResponse({"detail": exc.detail}, status_code=413, headers=headers)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)


class SecurityHeadersMiddleware:
    """Content-Security-Policy, X-Frame-Options: DENY and nosniff on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name.decode()] = value.decode()
            await send(message)

        await self.app(scope, receive, sending)
