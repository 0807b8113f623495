"""Why a login or a request was refused, as ApiErrors so both doors answer them alike."""

from typing import TypeVar

import msgspec

from mirror_runtime.doors import ApiError
from mirror_schema.api import ErrorCode


class UnauthorizedError(ApiError):
    """No credentials, wrong ones, or a session that ended: 401."""

    status = 401
    code: ErrorCode = "unauthorized"


class ForbiddenError(ApiError):
    """Known, but the role does not allow it (or a CSRF token is missing): 403."""

    status = 403
    code: ErrorCode = "forbidden"


class LockedError(ApiError):
    """Too many failed logins: 429 with Retry-After."""

    status = 429
    code: ErrorCode = "locked"
    retry_after_seconds: float

    def __init__(self, detail: str, retry_after_seconds: float) -> None:
        super().__init__(detail, retry_after_seconds=retry_after_seconds)


class InvalidAuthRequestError(ApiError):
    """A malformed request, naming the field: 422."""

    status = 422
    code: ErrorCode = "invalid"


class UnsupportedMediaTypeError(ApiError):
    """A body of another type than the route takes: 415."""

    status = 415
    code: ErrorCode = "invalid"


Decoded = TypeVar("Decoded")


def decode_request(data: bytes, kind: type[Decoded]) -> Decoded:
    """`data` as a `kind`, or InvalidAuthRequestError naming the field."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidAuthRequestError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise InvalidAuthRequestError(f"body: not JSON ({exc})") from None
