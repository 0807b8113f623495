"""The alerts service's errors: each carries what the HTTP and NATS doors tell the caller."""

from __future__ import annotations

from mirror_runtime.doors import ApiError
from mirror_schema.api import ErrorCode


class AlertsError(ApiError):
    """Base class: a request the service cannot carry out, with a detail naming the field."""


class InvalidRequestError(AlertsError):
    """A request that breaks the contract (a bad field, a bad rule or silence)."""


class NotFoundError(AlertsError):
    """No alert, rule or silence has this id."""

    code: ErrorCode = "not_found"


class ConflictError(AlertsError):
    """The object's state does not allow it (ack a resolved alert, a rule id taken)."""

    code: ErrorCode = "conflict"
