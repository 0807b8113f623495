"""What every API operation of the stack is, declared once: its NATS subject, request and
result types, HTTP route and the error codes it may answer; the reply envelopes; the one table
from an error code to an HTTP status.

A service declares its operations next to its contracts (mirror_schema.command_operations,
alert_operations, metrics_operations); mirror_runtime.doors builds the HTTP route and the NATS
endpoint of each from the declaration, the twin forwards the HUD's calls from the same one, and
docs/openapi.json is generated from them (mirror_schema.openapi).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

import msgspec

__all__ = [
    "STATUS_OF_CODE",
    "ErrorCode",
    "Failure",
    "Http",
    "Items",
    "NoRequest",
    "Operation",
    "Removed",
    "Reply",
    "status_of",
]

# What went wrong, for programs; an error's detail says it for people and names the field.
# unauthorized/forbidden/locked: the auth endpoints (mirror_schema.auth_api).
ErrorCode = Literal[
    "invalid",
    "malformed",
    "not_found",
    "conflict",
    "unavailable",
    "internal",
    "unauthorized",
    "forbidden",
    "locked",
]

# The one table of an error code's HTTP status, at a service's door and at the twin's.
STATUS_OF_CODE: Final[Mapping[ErrorCode, int]] = {
    "invalid": 422,
    "malformed": 400,  # not JSON at all: a syntax problem, not a schema one
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,
    "internal": 500,
    "unauthorized": 401,
    "forbidden": 403,
    "locked": 429,
}


def status_of(code: ErrorCode) -> int:
    """The HTTP status of an error code."""
    return STATUS_OF_CODE[code]


T = TypeVar("T")
Q = TypeVar("Q", bound=msgspec.Struct)
R = TypeVar("R")


class Reply(msgspec.Struct, Generic[T], frozen=True, kw_only=True, omit_defaults=True):
    """Every NATS reply of an API operation: ``{"result": ...}`` when it was carried out,
    ``{"error": ..., "code": ...}`` (a :class:`Failure`) when it was not."""

    result: T | None = None
    error: str | None = None
    code: ErrorCode | None = None
    retry_after_seconds: float | None = None


class Failure(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The error envelope: ``error`` for people, naming the field; ``code`` for programs;
    ``retry_after_seconds`` when a later try may succeed (``locked``: when the lock ends)."""

    error: str
    code: ErrorCode
    retry_after_seconds: float | None = None


class Items(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A list result: ``{"items": [...]}``."""

    items: list[T]


class Removed(msgspec.Struct, frozen=True, kw_only=True):
    """The result of a deletion: the id removed (HTTP answers 204 without a body)."""

    id: str


class NoRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The request of an operation that takes nothing (a NATS body is ignored)."""


_PATH_FIELD: Final = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, kw_only=True)
class Http:
    """An operation's HTTP route.

    The request's fields come from the path (``{id}`` names the field), and the others from
    the query string (``query=True``) or the JSON body; ``whole_body`` names the one field the
    entire body fills instead (a rule). ``status`` is the success status, or ``status_of`` its
    rule (``also``: the other statuses it may answer); ``no_content``: 204 without a body.
    """

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    query: bool = False
    whole_body: str | None = None
    status: int = 200
    status_of: Callable[[Any], int] | None = None
    also: tuple[int, ...] = ()
    no_content: bool = False
    path_fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_fields", tuple(_PATH_FIELD.findall(self.path)))

    def success_status(self, result: object) -> int:
        """The status of a carried-out request."""
        if self.no_content:
            return 204
        return self.status_of(result) if self.status_of is not None else self.status


# What a request over NATS waits for its reply, unless its operation says otherwise.
DEFAULT_REPLY_WITHIN_SECONDS: Final = 5.0


@dataclass(frozen=True, kw_only=True)
class Operation(Generic[Q, R]):
    """One API operation: ``name`` (the metrics' label, unique in its service), the NATS
    ``subject`` (None: HTTP only), request and result types, the HTTP route (None: NATS
    only), and the error codes it may answer besides ``unavailable`` and ``internal``.

    ``actor`` names the request field saying who acts: each door fills it, whatever the
    request claimed, with the logged-in operator (HTTP; the claim only when logins are off)
    or the caller its subject vouches for (NATS; an operator only when the twin names one).

    ``reply_within_seconds`` is how long a caller over NATS waits for the reply: longer for an
    operation whose work is slow on purpose (a password hash), so that a loaded machine does
    not turn a request that is being carried out into "no service answered".
    """

    service: str
    name: str
    summary: str
    request: type[Q]
    result: type[R]
    subject: str | None = None
    http: Http | None = None
    errors: tuple[ErrorCode, ...] = ("invalid", "malformed")
    actor: str | None = None
    reply_within_seconds: float = DEFAULT_REPLY_WITHIN_SECONDS

    @property
    def label(self) -> str:
        """``<service>.<name>``: how logs and docs name it."""
        return f"{self.service}.{self.name}"
