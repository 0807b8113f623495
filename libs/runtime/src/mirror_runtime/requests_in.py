"""An operation's request as each door receives it, decoded into its declared Struct: from a
NATS body, or from an HTTP request's path, query string and body (mirror_schema.api.Http).

Every refusal is an ApiError whose detail names the field: ``invalid`` for a request that
breaks the contract, ``malformed`` for a body that is not JSON at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import msgspec

from mirror_runtime.doors import ApiError
from mirror_schema.api import Operation
from mirror_schema.field_errors import field_error

__all__ = ["from_http", "from_nats", "invalid", "malformed"]

_OBJECT: Final = msgspec.json.Decoder(dict[str, Any])


def invalid(detail: str) -> ApiError:
    """A request that breaks the contract (422)."""
    return ApiError(detail, code="invalid")


def malformed(exc: msgspec.DecodeError) -> ApiError:
    """A body that is not JSON at all (400)."""
    return ApiError(f"body: not valid JSON ({exc})", code="malformed")


_DECODERS: Final[dict[type[Any], msgspec.json.Decoder[Any]]] = {}
_FIELDS: Final[dict[type[Any], dict[str, msgspec.inspect.Field]]] = {}


def _decoder(kind: type[Any]) -> msgspec.json.Decoder[Any]:
    if kind not in _DECODERS:
        _DECODERS[kind] = msgspec.json.Decoder(kind)
    return _DECODERS[kind]


def _fields(kind: type[Any]) -> dict[str, msgspec.inspect.Field]:
    """A request Struct's fields by name (an operation's request is always a Struct)."""
    if kind not in _FIELDS:
        info = msgspec.inspect.type_info(kind)
        assert isinstance(info, msgspec.inspect.StructType)
        _FIELDS[kind] = {field.name: field for field in info.fields}
    return _FIELDS[kind]


def _is_list(field: msgspec.inspect.Field) -> bool:
    kind = field.type
    while isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    return isinstance(kind, msgspec.inspect.ListType)


def from_nats(operation: Operation[Any, Any], data: bytes) -> Any:
    """The request of a NATS message's body (an empty body is an empty object)."""
    if not _fields(operation.request):
        return operation.request()  # takes nothing: whatever came is ignored
    try:
        return _decoder(operation.request).decode(data if data.strip() else b"{}")
    except msgspec.ValidationError as exc:
        raise invalid(field_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise malformed(exc) from None


def _body_object(data: bytes) -> dict[str, Any]:
    if not data.strip():
        return {}
    try:
        return _OBJECT.decode(data)
    except msgspec.ValidationError as exc:
        raise invalid(field_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise malformed(exc) from None


def _query_fields(operation: Operation[Any, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """Empty values are left out; a list field takes several values separated by commas."""
    fields = _fields(operation.request)
    found: dict[str, Any] = {}
    for name, value in params.items():
        if value == "":
            continue
        field = fields.get(name)
        if field is not None and _is_list(field):
            found[name] = [part.strip() for part in value.split(",") if part.strip()]
        else:
            found[name] = value
    return found


def from_http(
    operation: Operation[Any, Any], path: Mapping[str, str], query: Mapping[str, str], body: bytes
) -> Any:
    """The request of an HTTP call: the path's fields, then the query string's or the body's
    (a body field may not name a path field: the path says which object)."""
    http = operation.http
    assert http is not None, f"{operation.label} has no HTTP route"
    fields: dict[str, Any]
    if http.query:
        fields = _query_fields(operation, query)
    elif http.method in ("POST", "PUT"):
        given = _body_object(body)
        if http.whole_body is not None:
            fields = {http.whole_body: given}
        else:
            for name in given.keys() & set(http.path_fields):
                raise invalid(f"{name}: Object contains unknown field `{name}`")
            fields = given
    else:
        fields = {}
    if not _fields(operation.request):
        return operation.request()
    fields.update(path)
    try:
        return msgspec.convert(fields, operation.request, strict=not http.query)
    except msgspec.ValidationError as exc:
        raise invalid(field_error(exc, body="query" if http.query else "body")) from None
