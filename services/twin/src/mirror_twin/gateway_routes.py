"""The HUD's API at the twin, each route forwarded over NATS to the service that owns it:
commands (create, list, get, cancel, retry), alerts (active, history, ack) and the metric
history. The audit trail names the logged-in operator, never what the body claims."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec
from fastapi import APIRouter, Request, Response

from mirror_runtime.auth.middleware import actor_of
from mirror_runtime.doors import error_response, json_response
from mirror_schema import subjects
from mirror_twin.gateway import Gateway, GatewayError

# Query parameters that take several values separated by commas.
_LIST_PARAMS: Final = frozenset({"status"})
_INT_PARAMS: Final = frozenset({"page", "page_size", "limit"})
MAX_BODY_BYTES: Final = 64 * 1024


def query_body(params: Mapping[str, str], allowed: frozenset[str]) -> dict[str, Any]:
    """A query string as the JSON body of a request: empty values left out, lists split,
    numbers as numbers. An unknown parameter is a GatewayError naming it."""
    body: dict[str, Any] = {}
    for name, value in params.items():
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise GatewayError(422, f"query: unknown parameter {name!r}; known: {known}")
        if value == "":
            continue
        if name in _LIST_PARAMS:
            body[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif name in _INT_PARAMS and value.isdigit():
            body[name] = int(value)
        else:
            body[name] = value
    return body


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object ({} when empty); GatewayError naming the problem."""
    data = await request.body()
    if len(data) > MAX_BODY_BYTES:
        raise GatewayError(413, f"body: {len(data)} bytes; at most {MAX_BODY_BYTES}")
    if not data.strip():
        return {}
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise GatewayError(422, f"body: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise GatewayError(422, "body: expected a JSON object")
    return body


def gateway_router(gateway: Gateway) -> APIRouter:
    """Routes mirroring the owning services' own HTTP APIs (docs/api.md)."""
    router = APIRouter()

    async def answer(
        subject: str, body: dict[str, Any], field: str | None, status: int = 200
    ) -> Response:
        reply = await gateway.ask(subject, body)
        return json_response(reply if field is None else reply.get(field), status)

    async def guarded(run: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await run()
        except GatewayError as exc:
            return error_response(exc.status, exc.detail)

    async def actor(request: Request, claim: str) -> str | None:
        """The logged-in operator; with logins off, what the body's `claim` field says."""
        return actor_of(request, (await json_object(request)).get(claim))

    @router.post("/api/commands")
    async def create(request: Request) -> Response:
        async def run() -> Response:
            body = await json_object(request)
            body["requested_by"] = actor_of(request, body.get("requested_by")) or "hud"
            reply = await gateway.ask(subjects.COMMANDS_REQUEST, body)
            commands = reply.get("commands") or []
            batch_id = commands[0].get("batch_id") if commands else None
            return json_response({"commands": commands, "batch_id": batch_id}, 201)

        return await guarded(run)

    @router.get("/api/commands")
    async def list_commands(request: Request) -> Response:
        allowed = frozenset({"hostname", "status", "search", "batch_id", "page", "page_size"})
        return await guarded(
            lambda: answer(
                subjects.COMMANDS_API_LIST, query_body(request.query_params, allowed), "page"
            )
        )

    @router.get("/api/commands/{command_id}")
    async def get(command_id: str) -> Response:
        return await guarded(
            lambda: answer(subjects.COMMANDS_API_GET, {"id": command_id}, "command")
        )

    @router.post("/api/commands/{command_id}/cancel")
    async def cancel(command_id: str, request: Request) -> Response:
        async def run() -> Response:
            body = {"id": command_id, "requested_by": await actor(request, "requested_by")}
            reply = await gateway.ask(subjects.COMMANDS_API_CANCEL, body)
            # 200: cancelled now; 202: its agent was asked, the result will say.
            done = (reply.get("command") or {}).get("status") == "cancelled"
            return json_response(reply, 200 if done else 202)

        return await guarded(run)

    @router.post("/api/commands/{command_id}/retry")
    async def retry(command_id: str, request: Request) -> Response:
        async def run() -> Response:
            body = {"id": command_id, "requested_by": await actor(request, "requested_by")}
            return await answer(subjects.COMMANDS_API_RETRY, body, "command", 201)

        return await guarded(run)

    @router.get("/api/alerts/active")
    async def active(request: Request) -> Response:
        allowed = frozenset({"host"})
        return await guarded(
            lambda: answer(
                subjects.ALERTS_API_ACTIVE, query_body(request.query_params, allowed), None
            )
        )

    @router.get("/api/alerts")
    async def alerts(request: Request) -> Response:
        allowed = frozenset({"host", "status", "since", "limit"})

        async def run() -> Response:
            body = query_body(request.query_params, allowed)
            if isinstance(body.get("status"), list):  # one state here, not a list
                body["status"] = ",".join(body["status"])
            return await answer(subjects.ALERTS_API_LIST, body, None)

        return await guarded(run)

    @router.post("/api/alerts/{alert_id}/ack")
    async def ack(alert_id: str, request: Request) -> Response:
        async def run() -> Response:
            body = {"id": alert_id, "by": await actor(request, "by")}
            return await answer(subjects.ALERTS_API_ACK, body, "alert")

        return await guarded(run)

    @router.get("/api/metrics/history")
    async def history(request: Request) -> Response:
        allowed = frozenset({"host", "since", "until", "step"})
        return await guarded(
            lambda: answer(
                subjects.METRICS_API_HISTORY, query_body(request.query_params, allowed), "history"
            )
        )

    return router
