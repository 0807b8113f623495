"""HTTP app of the alerts service: routes over AlertsApi; no NATS imports, no rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec
from fastapi import FastAPI, Request, Response

from mirror_alerts import metrics
from mirror_alerts.errors import InvalidRequestError
from mirror_alerts.handlers import decode_body
from mirror_alerts.operations import AlertsApi
from mirror_runtime.app import service_app
from mirror_runtime.auth.middleware import actor_of
from mirror_runtime.doors import TRANSIENT, guard_http, json_response
from mirror_runtime.health import Dependencies
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    Actor,
    CreateSilenceRequest,
    ListAlertsRequest,
    WriteRuleRequest,
)
from mirror_schema.field_errors import field_error

__all__ = ["create_app"]


class _Actor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The optional body of POST /api/alerts/{id}/ack.
    by: Actor | None = None


_ACTOR: Final = msgspec.json.Decoder(_Actor)
_RULE_BODY: Final = msgspec.json.Decoder(dict[str, Any])
_CREATE_SILENCE: Final = msgspec.json.Decoder(CreateSilenceRequest)


class Items(msgspec.Struct, frozen=True, kw_only=True):
    """Body of the list routes."""

    items: list[Any]


def _query(type_: type[msgspec.Struct], params: Mapping[str, str]) -> Any:
    """A query string as a request struct: strings converted, unknown names refused."""
    try:
        return msgspec.convert(dict(params), type_, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(field_error(exc, body="query")) from None


async def _guard(operation: str, run: Callable[[], Awaitable[Response]]) -> Response:
    """Run one route; its errors become 4xx with a detail naming the field, or 503."""
    return await guard_http(operation, run, requests=metrics.REQUESTS, transient=TRANSIENT)


def _rule_write(body: bytes, by: str | None = None) -> WriteRuleRequest:
    return WriteRuleRequest(rule=decode_body(_RULE_BODY, body), by=by)


def create_app(deps: Dependencies, api: AlertsApi) -> FastAPI:
    """The alerts API of docs/api.md, silences included, with health and metrics."""
    app = service_app(deps)

    @app.get("/api/alerts/active")
    async def active(request: Request) -> Response:
        async def run() -> Response:
            query = _query(ActiveAlertsRequest, request.query_params)
            return json_response(Items(items=await api.active(query)))

        return await _guard("active", run)

    @app.get("/api/alerts")
    async def history(request: Request) -> Response:
        async def run() -> Response:
            query = _query(ListAlertsRequest, request.query_params)
            return json_response(Items(items=await api.history(query)))

        return await _guard("list", run)

    # The rules and silences routes come before /api/alerts/{alert_id}.
    @app.get("/api/alerts/rules")
    async def rules() -> Response:
        async def run() -> Response:
            return json_response(Items(items=await api.rules()))

        return await _guard("rules_list", run)

    @app.get("/api/alerts/rules/{rule_id}")
    async def rule(rule_id: str) -> Response:
        async def run() -> Response:
            return json_response(await api.rule(rule_id))

        return await _guard("rules_get", run)

    @app.post("/api/alerts/rules")
    async def create_rule(request: Request) -> Response:
        async def run() -> Response:
            write = _rule_write(await request.body(), actor_of(request, None))
            return json_response(await api.create_rule(write), 201)

        return await _guard("rules_create", run)

    @app.put("/api/alerts/rules/{rule_id}")
    async def replace_rule(rule_id: str, request: Request) -> Response:
        async def run() -> Response:
            write = _rule_write(await request.body(), actor_of(request, None))
            return json_response(await api.replace_rule(rule_id, write))

        return await _guard("rules_update", run)

    @app.delete("/api/alerts/rules/{rule_id}")
    async def delete_rule(rule_id: str) -> Response:
        async def run() -> Response:
            await api.delete_rule(rule_id)
            return Response(status_code=204)

        return await _guard("rules_delete", run)

    @app.get("/api/alerts/silences")
    async def silences() -> Response:
        async def run() -> Response:
            return json_response(Items(items=await api.silences()))

        return await _guard("silences_list", run)

    @app.post("/api/alerts/silences")
    async def create_silence(request: Request) -> Response:
        async def run() -> Response:
            body = decode_body(_CREATE_SILENCE, await request.body())
            body = msgspec.structs.replace(body, by=actor_of(request, body.by))
            return json_response(await api.create_silence(body), 201)

        return await _guard("silences_create", run)

    @app.delete("/api/alerts/silences/{silence_id}")
    async def expire_silence(silence_id: str) -> Response:
        async def run() -> Response:
            await api.expire_silence(silence_id)
            return Response(status_code=204)

        return await _guard("silences_expire", run)

    @app.get("/api/alerts/{alert_id}")
    async def get(alert_id: str) -> Response:
        async def run() -> Response:
            return json_response(await api.get(alert_id))

        return await _guard("get", run)

    @app.post("/api/alerts/{alert_id}/ack")
    async def ack(alert_id: str, request: Request) -> Response:
        async def run() -> Response:
            claimed = decode_body(_ACTOR, await request.body()).by
            ack = AckAlertRequest(id=alert_id, by=actor_of(request, claimed))
            return json_response(await api.acknowledge(ack))

        return await _guard("ack", run)

    return app
