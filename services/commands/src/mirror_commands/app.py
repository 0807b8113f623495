"""HTTP app of the commands service: routes over CommandsApi; no NATS imports, no rules."""

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import msgspec
from fastapi import FastAPI, Request, Response

from mirror_commands import metrics
from mirror_commands.errors import InvalidRequestError
from mirror_commands.operations import CommandsApi, KnownHost
from mirror_commands.query import decode, list_request
from mirror_runtime.app import service_app
from mirror_runtime.auth.middleware import actor_of
from mirror_runtime.doors import TRANSIENT, guard_http, json_response
from mirror_runtime.health import Dependencies
from mirror_schema import codec
from mirror_schema.command_api import (
    CancelCommandRequest,
    CommandRecord,
    DeleteHostLabelsRequest,
    LabelTags,
    Rack,
    RetryCommandRequest,
    SetHostLabelsRequest,
)
from mirror_schema.commands import validate_command_id
from mirror_schema.errors import InvalidCommandId
from mirror_schema.field_errors import field_error

# requested_by of an HTTP request whose body does not say who is asking.
HTTP_ACTOR: Final = "http"


class CreatedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Body of 201 from POST /api/commands: one command per targeted host."""

    commands: list[CommandRecord]
    batch_id: str | None = None


class HostsResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Body of GET /api/commands/hosts."""

    hosts: list[KnownHost]


class _Actor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The optional body of cancel and retry.
    requested_by: str | None = None


_decode_actor: Final = msgspec.json.Decoder(_Actor).decode


def _command_id(value: str) -> str:
    try:
        return validate_command_id(value)
    except InvalidCommandId as exc:
        raise InvalidRequestError(f"id: {exc}") from None


async def _guard(operation: str, run: Callable[[], Awaitable[Response]]) -> Response:
    """Run one route; its errors become 4xx with a detail naming the field, or 503."""
    return await guard_http(operation, run, requests=metrics.REQUESTS, transient=TRANSIENT)


def create_app(deps: Dependencies, api: CommandsApi) -> FastAPI:
    """The commands API of docs/api.md, GET /api/commands/hosts included, health and metrics."""
    app = service_app(deps)

    @app.post("/api/commands")
    async def create(request: Request) -> Response:
        async def run() -> Response:
            body = decode(codec.decode_command_request, await request.body())
            body = msgspec.structs.replace(body, requested_by=actor_of(request, body.requested_by))
            records = await api.create(body, HTTP_ACTOR)
            batch_id = records[0].batch_id if records else None
            return json_response(CreatedResponse(commands=records, batch_id=batch_id), 201)

        return await _guard("create", run)

    @app.get("/api/commands")
    async def list_commands(request: Request) -> Response:
        async def run() -> Response:
            query = list_request(dict(request.query_params))
            return json_response(await api.list_commands(query))

        return await _guard("list", run)

    # Before /api/commands/{command_id}: "hosts" would match the id pattern.
    @app.get("/api/commands/hosts")
    async def hosts() -> Response:
        async def run() -> Response:
            return json_response(HostsResponse(hosts=await api.hosts()))

        return await _guard("hosts", run)

    _label_routes(app, api)

    @app.get("/api/commands/signing-key")
    async def signing_key() -> Response:
        return json_response(api.signing_public_key())

    @app.get("/api/commands/{command_id}")
    async def get(command_id: str) -> Response:
        async def run() -> Response:
            return json_response(await api.get(_command_id(command_id)))

        return await _guard("get", run)

    @app.post("/api/commands/{command_id}/cancel")
    async def cancel(command_id: str, request: Request) -> Response:
        async def run() -> Response:
            actor = await _actor(request)
            reply = await api.cancel(
                CancelCommandRequest(id=_command_id(command_id), requested_by=actor), HTTP_ACTOR
            )
            # 200: cancelled now; 202: its agent was asked, the result will say.
            done = reply.command is not None and reply.command.status == "cancelled"
            return json_response(reply, 200 if done else 202)

        return await _guard("cancel", run)

    @app.post("/api/commands/{command_id}/retry")
    async def retry(command_id: str, request: Request) -> Response:
        async def run() -> Response:
            actor = await _actor(request)
            record = await api.retry(
                RetryCommandRequest(id=_command_id(command_id), requested_by=actor), HTTP_ACTOR
            )
            return json_response(record, 201)

        return await _guard("retry", run)

    return app


class _LabelsBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The body of PUT /api/commands/hosts/{host_id}/labels: the host comes from the path.
    tags: LabelTags = {}
    rack: Rack | None = None


_decode_labels_body: Final = msgspec.json.Decoder(_LabelsBody).decode
_Request = TypeVar("_Request", SetHostLabelsRequest, DeleteHostLabelsRequest)


def _host_request(kind: type[_Request], fields: dict[str, object]) -> _Request:
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(field_error(exc)) from None


def _label_routes(app: FastAPI, api: CommandsApi) -> None:
    """PUT and DELETE /api/commands/hosts/{host_id}/labels: the operator's tags and rack of a
    host, which selectors match (never what its samples claim)."""

    @app.put("/api/commands/hosts/{host_id}/labels")
    async def set_labels(host_id: str, request: Request) -> Response:
        async def run() -> Response:
            body = decode(_decode_labels_body, await request.body())
            wanted = _host_request(
                SetHostLabelsRequest, {"host_id": host_id, "tags": body.tags, "rack": body.rack}
            )
            actor = actor_of(request, None) or HTTP_ACTOR
            return json_response(await api.set_labels(wanted, actor))

        return await _guard("labels_set", run)

    @app.delete("/api/commands/hosts/{host_id}/labels")
    async def delete_labels(host_id: str, request: Request) -> Response:
        async def run() -> Response:
            wanted = _host_request(DeleteHostLabelsRequest, {"host_id": host_id})
            actor = actor_of(request, None) or HTTP_ACTOR
            return json_response(await api.delete_labels(wanted, actor))

        return await _guard("labels_delete", run)


async def _actor(request: Request) -> str | None:
    """The logged-in principal, or (authentication off) the body's requested_by."""
    body = await request.body()
    claimed = decode(_decode_actor, body).requested_by if body.strip() else None
    return actor_of(request, claimed)
