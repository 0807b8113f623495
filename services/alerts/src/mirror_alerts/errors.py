"""The alerts service's errors: each carries what the HTTP and NATS doors tell the caller."""

from __future__ import annotations

from mirror_runtime.doors import ApiError
from mirror_schema.alert_api import ErrorCode


class AlertsError(ApiError):
    """Base class: a request the service cannot carry out, with a detail naming the field."""

    status = 422


class InvalidRequestError(AlertsError):
    """A request that breaks the contract (a bad field, a bad rule or silence)."""


class MalformedError(InvalidRequestError):
    """A body that is not JSON at all (a syntax problem, not a schema one)."""

    status = 400


class NotFoundError(AlertsError):
    """No alert, rule or silence has this id."""

    status = 404
    code: ErrorCode = "not_found"


class ConflictError(AlertsError):
    """The object's state does not allow it (ack a resolved alert, a rule id taken)."""

    status = 409
    code: ErrorCode = "conflict"
