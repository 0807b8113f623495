"""A service's HTTP door, built from its operations' declarations (mirror_schema.api): one
route per operation, the errors answered by exception handlers, and one middleware counting
every request by operation, door and outcome.

An ApiError answers its status with ``{"detail": ...}`` naming the field; a transient failure
of the bus or the database answers 503. Who acts is the logged-in operator (the body's claim
only when logins are off: mirror_runtime.auth.middleware.actor_of), never a body's word.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import prometheus_client
import structlog
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mirror_runtime.auth.middleware import actor_of
from mirror_runtime.doors import TRANSIENT, ApiError, error_response, json_response
from mirror_runtime.implementations import Implementation
from mirror_runtime.requests_in import from_http
from mirror_schema.api import Operation
from mirror_schema.openapi import openapi_document

__all__ = ["RequestCounter", "install_error_handlers", "mount_operations"]

log = structlog.get_logger()


class RequestCounter:
    """Count each request a route named its operation for, by its outcome: ``ok``, the
    error's code (set by the exception handlers), else ``internal``."""

    def __init__(self, app: ASGIApp, *, requests: prometheus_client.Counter) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state: dict[str, Any] = scope.get("state") or {}
            operation = state.get("operation")
            if operation is not None:
                outcome = state.get("outcome") or ("ok" if status < 400 else "internal")
                self.requests.labels(operation, "http", outcome).inc()


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    request.state.outcome = exc.code
    return error_response(exc.status, exc.detail)


async def _unavailable(request: Request, exc: Exception) -> Response:
    request.state.outcome = "unavailable"
    log.warning("request.unavailable", path=request.url.path, error=str(exc))
    return error_response(503, f"the service cannot reach NATS or PostgreSQL ({exc}); try again")


def install_error_handlers(app: FastAPI) -> None:
    """ApiError: its status and detail; a transient failure of NATS or PostgreSQL: 503."""
    app.add_exception_handler(ApiError, _refused)
    for kind in TRANSIENT:
        if issubclass(kind, Exception):
            app.add_exception_handler(kind, _unavailable)


def _route(
    implementation: Implementation[Any, Any], default_actor: str | None, qualified: bool
) -> Any:
    operation = implementation.operation
    counted_as = operation.label if qualified else operation.name
    http = operation.http
    assert http is not None
    reads_body = http.method in ("POST", "PUT") and not http.query

    async def endpoint(request: Request) -> Response:
        request.state.operation = counted_as
        body = await request.body() if reads_body else b""
        wanted = from_http(operation, request.path_params, request.query_params, body)
        claim = getattr(wanted, operation.actor) if operation.actor else None
        actor = actor_of(request, claim) or default_actor
        if operation.actor:
            wanted = msgspec.structs.replace(wanted, **{operation.actor: actor})
        result = await implementation.run(wanted, actor)
        status = http.success_status(result)
        if status == 204:
            return Response(status_code=204)
        return json_response(result, status)

    endpoint.__name__ = operation.name
    return endpoint


def _describe(app: FastAPI, operations: list[Operation[Any, Any]]) -> None:
    """The app's /openapi.json (when served, mirror_runtime.serve) carries the operations as
    mirror_schema.openapi describes them, besides the app's own routes."""
    framework = app.openapi

    def openapi() -> dict[str, Any]:
        document = framework()
        generated = openapi_document(operations)
        document.setdefault("paths", {}).update(generated["paths"])
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(generated["components"]["schemas"])
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def mount_operations(
    app: FastAPI,
    implementations: Iterable[Implementation[Any, Any]],
    *,
    requests: prometheus_client.Counter,
    default_actor: str | None = None,
    qualified: bool = False,
) -> None:
    """One route per operation with an HTTP route, in the order given (a fixed path before a
    parameter's), its errors handled and every request counted in `requests`.
    `default_actor`: who acts when no one is logged in and the body names no one;
    `qualified`: count operations as ``<service>.<name>`` (an app serving several services')."""
    implementations = list(implementations)
    install_error_handlers(app)
    app.add_middleware(RequestCounter, requests=requests)
    _describe(app, [implementation.operation for implementation in implementations])
    for implementation in implementations:
        http = implementation.operation.http
        if http is None:
            continue
        app.add_api_route(
            http.path,
            _route(implementation, default_actor, qualified),
            methods=[http.method],
            name=implementation.operation.label,
            include_in_schema=False,
        )
