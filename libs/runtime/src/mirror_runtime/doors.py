"""What both doors of a service's API share: ApiError (a refusal with its code and a detail
naming the field), the transient failures answered 503 / ``unavailable``, and the NATS server
of one request (serve_nats: the caller from the subject, the reply only to its own inbox).

The operations' doors are built on these from their declarations (mirror_runtime.http_door,
nats_door); guard_http is the per-route guard the auth routes still use. No business rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import msgspec
import nats.errors
import prometheus_client
import structlog
from fastapi import Response
from nats.aio.msg import Msg

from mirror_runtime.deadletter import REJECTED
from mirror_schema import codec
from mirror_schema.api import ErrorCode, Failure, status_of
from mirror_schema.errors import SchemaError
from mirror_schema.hosts import validate_host_id
from mirror_schema.identities import Caller

__all__ = [
    "TRANSIENT",
    "ApiError",
    "ErrorCode",
    "error_response",
    "guard_http",
    "json_response",
    "request_caller",
    "serve_nats",
]

log = structlog.get_logger()

# Failures of the bus or the database, after which they may answer again: the doors answer
# 503 / "unavailable", and background work waits and retries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    nats.errors.Error,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # The server shutting down or restarting ("terminating connection due to administrator
    # command"): gone for now, back after its restart.
    asyncpg.exceptions.OperatorInterventionError,
)


class ApiError(Exception):
    """A request a service cannot carry out: its code and a detail naming the field. Its HTTP
    status comes from the code (mirror_schema.api.STATUS_OF_CODE) unless given. Each service
    subclasses it (invalid, not found, conflict...)."""

    code: ErrorCode = "invalid"
    retry_after_seconds: float | None = None  # when a later try may succeed, if one may

    def __init__(
        self,
        detail: str,
        *,
        code: ErrorCode | None = None,
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        self.detail = detail
        if code is not None:
            self.code = code
        if retry_after_seconds is not None:
            self.retry_after_seconds = retry_after_seconds
        self._status = status
        super().__init__(detail)

    @property
    def status(self) -> int:
        """The HTTP status it answers."""
        return self._status if self._status is not None else status_of(self.code)


def json_response(body: object, status: int = 200) -> Response:
    """``body`` as a JSON response."""
    return Response(content=codec.encode(body), status_code=status, media_type="application/json")


def error_response(status: int, detail: str) -> Response:
    """``{"detail": ...}`` with ``status``."""
    return json_response({"detail": detail}, status)


async def guard_http(
    operation: str,
    run: Callable[[], Awaitable[Response]],
    *,
    requests: prometheus_client.Counter,
    transient: tuple[type[BaseException], ...],
) -> Response:
    """Run one route; its errors become 4xx with a detail naming the field, or 503."""
    try:
        response = await run()
    except ApiError as exc:
        requests.labels(operation, "http", exc.code).inc()
        return error_response(exc.status, exc.detail)
    except transient as exc:
        requests.labels(operation, "http", "unavailable").inc()
        log.warning("request.unavailable", operation=operation, error=str(exc))
        return error_response(
            503, f"the service cannot reach NATS or PostgreSQL ({exc}); try again"
        )
    requests.labels(operation, "http", "ok").inc()
    return response


def request_caller(msg: Msg) -> Caller:
    """Who sent the request `msg`: the last token of its subject, ``<endpoint>.<caller>``,
    which only that identity may publish. Raises SchemaError when it names no identity."""
    return Caller(validate_host_id(msg.subject.rsplit(".", 1)[-1]))


async def serve_nats(
    msg: Msg,
    operation: str,
    run: Callable[[], Awaitable[msgspec.Struct]],
    *,
    requests: prometheus_client.Counter,
    transient: tuple[type[BaseException], ...],
) -> None:
    """Answer one request: the result, or a Failure naming the field (never silence).

    A request comes on ``<endpoint>.<caller>`` (mirror_schema.identities) and its reply must
    go to that caller's own inbox: one asking for its answer anywhere else (a stream's API,
    another identity's inbox, a subject a stream stores) is dropped and counted, never
    answered.
    """
    if not msg.reply:
        requests.labels(operation, "nats", "no_reply_subject").inc()
        log.warning("request.without_reply", subject=msg.subject)
        return
    try:
        caller = request_caller(msg)
    except SchemaError:
        requests.labels(operation, "nats", "no_caller").inc()
        REJECTED.labels(consumer=operation, reason="no_caller").inc()
        log.warning("request.without_caller", subject=msg.subject)
        return
    if not caller.reply_allowed(msg.reply):
        requests.labels(operation, "nats", "foreign_reply").inc()
        REJECTED.labels(consumer=operation, reason="reply_subject").inc()
        log.warning("request.foreign_reply", subject=msg.subject, reply=msg.reply)
        return
    outcome: str
    try:
        reply = await run()
        outcome = "ok"
    except ApiError as exc:
        reply = Failure(
            error=exc.detail, code=exc.code, retry_after_seconds=exc.retry_after_seconds
        )
        outcome = exc.code
        log.info("request.refused", operation=operation, detail=exc.detail)
    except transient as exc:
        detail = f"the service cannot reach NATS or PostgreSQL ({exc}); try again shortly"
        reply, outcome = Failure(error=detail, code="unavailable"), "unavailable"
        log.warning("request.unavailable", operation=operation, error=str(exc))
    except Exception:
        log.exception("request.crashed", operation=operation)
        reply = Failure(error="internal error; see the service's log", code="internal")
        outcome = "internal"
    encoded = codec.encode(reply)
    try:
        try:
            await msg.respond(encoded)
        except nats.errors.MaxPayloadError:
            # An answer larger than the bus carries would leave the caller waiting until it
            # gives up: it is told why instead, and what to ask for.
            outcome = "too_large"
            log.warning("request.reply_too_large", operation=operation, bytes=len(encoded))
            too_large = Failure(
                error=f"the answer is {len(encoded)} bytes, more than NATS carries in one "
                "message; ask for less (a shorter range, a coarser step, a smaller page)",
                code="invalid",
            )
            await msg.respond(codec.encode(too_large))
    except nats.errors.Error as exc:
        log.warning("request.reply_failed", operation=operation, error=str(exc))
    requests.labels(operation, "nats", outcome).inc()
