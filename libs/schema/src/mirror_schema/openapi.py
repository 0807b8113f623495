"""docs/openapi.json, generated from the operations' declarations (mirror_schema.api): every
service's HTTP API as an OpenAPI 3.1 document, each operation's NATS subject in
``x-nats-subject``, the NATS-only operations under ``x-nats-operations``.

``python -m mirror_schema.openapi [PATH]`` writes it (``make docs``); a unit test fails when
the checked-in document differs from what this generates.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import msgspec

from mirror_schema import (
    account_operations,
    alert_operations,
    auth_operations,
    command_operations,
    metrics_operations,
)
from mirror_schema.api import STATUS_OF_CODE, Failure, Operation
from mirror_schema.forwarded import FORWARDED

__all__ = ["OPERATIONS", "openapi_document", "openapi_text"]

# Every service's operations, in the order of their routes.
OPERATIONS: Final[tuple[Operation[Any, Any], ...]] = (
    *metrics_operations.OPERATIONS,
    *alert_operations.OPERATIONS,
    *command_operations.OPERATIONS,
    *auth_operations.OPERATIONS,
    *account_operations.OPERATIONS,
)
_REF: Final = "#/components/schemas/{name}"
_PORTS: Final = {"twin": 8100, "ingest": 8101, "alerts": 8102, "commands": 8103}


class Detail(msgspec.Struct, frozen=True, kw_only=True):
    """Every HTTP error's body: what went wrong, naming the field."""

    detail: str


def _component(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    found: dict[str, Any] = components[ref.rsplit("/", 1)[-1]] if ref else schema
    return found


def _parameters(operation: Operation[Any, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    http = operation.http
    assert http is not None
    properties: dict[str, Any] = request.get("properties", {})
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": properties[name]}
        for name in http.path_fields
    ]
    if http.query:
        required = set(request.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in properties.items()
            if name not in http.path_fields
        ]
    return parameters


def _request_body(operation: Operation[Any, Any], request: dict[str, Any]) -> dict[str, Any] | None:
    http = operation.http
    assert http is not None
    if http.query or http.method not in ("POST", "PUT") or not request.get("properties"):
        return None
    if http.whole_body is not None:
        schema = request["properties"][http.whole_body]
    else:
        schema = copy.deepcopy(request)
        for name in http.path_fields:
            schema["properties"].pop(name, None)
        required = [n for n in schema.get("required", []) if n not in http.path_fields]
        schema.pop("required", None)
        if required:
            schema["required"] = required
    content = {"application/json": {"schema": schema}}
    return {"required": bool(schema.get("required")), "content": content}


def _responses(operation: Operation[Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    http = operation.http
    assert http is not None
    responses: dict[str, Any] = {}
    if http.no_content:
        responses["204"] = {"description": "done"}
    else:
        for status in (http.status, *http.also):
            content = {"application/json": {"schema": result}}
            responses[str(status)] = {"description": "the result", "content": content}
    error = {"application/json": {"schema": {"$ref": _REF.format(name="Detail")}}}
    for code in (*operation.errors, "unavailable"):
        answer = {"description": code, "content": error}
        responses.setdefault(str(STATUS_OF_CODE[code]), answer)
    return responses


def _path_item(
    operation: Operation[Any, Any], request: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    http = operation.http
    assert http is not None
    item: dict[str, Any] = {
        "operationId": operation.label,
        "summary": operation.summary,
        "tags": [operation.service],
    }
    parameters = _parameters(operation, request)
    if parameters:
        item["parameters"] = parameters
    body = _request_body(operation, request)
    if body is not None:
        item["requestBody"] = body
    item["responses"] = _responses(operation, result)
    if operation.subject is not None:
        item["x-nats-subject"] = operation.subject
    if operation.actor is not None:
        item["x-actor-field"] = operation.actor
    if operation in FORWARDED:
        item["x-forwarded-by-twin"] = True
    return item


def openapi_document(operations: Sequence[Operation[Any, Any]] = OPERATIONS) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`."""
    types: list[Any] = [Detail, Failure]
    for operation in operations:
        types += [operation.request, operation.result]
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    nats_only: list[dict[str, Any]] = []
    for index, operation in enumerate(operations):
        request_ref, result_ref = refs[2 + 2 * index], refs[3 + 2 * index]
        if operation.http is None:
            nats_only.append(
                {
                    "operationId": operation.label,
                    "summary": operation.summary,
                    "x-nats-subject": operation.subject,
                    "request": request_ref,
                    "result": result_ref,
                }
            )
            continue
        request = _component(request_ref, components)
        path = paths.setdefault(operation.http.path, {})
        path[operation.http.method.lower()] = _path_item(operation, request, result_ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MIRROR STAGE services",
            "version": "0.1.0",
            "description": (
                "Every service's HTTP API, generated from the operations' declarations "
                "(mirror_schema.api; `make docs`). Each service serves its own paths: "
                + ", ".join(f"{name} on port {port}" for name, port in _PORTS.items())
                + ". The twin serves the operations marked x-forwarded-by-twin too, forwarded "
                "over NATS; the paths under /api/admin/ (users and API tokens, an admin's "
                "alone) are the twin's only, answered by whichever service holds the "
                "database. On NATS, a request goes to `<x-nats-subject>.<caller>` and its "
                'reply is {"result": <the HTTP body>} or a Failure {"error", "code"}.'
            ),
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
        "x-nats-operations": nats_only,
        "x-error-statuses": dict(STATUS_OF_CODE),
    }


def openapi_text() -> str:
    """The document as docs/openapi.json holds it."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str]) -> int:
    """Write the document to the path given, or to stdout."""
    text = openapi_text()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
