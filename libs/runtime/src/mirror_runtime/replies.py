"""open_reply(): the result in the NATS reply of a declared operation (mirror_schema.api), or
its failure as the ApiError it names; what asks another service over the bus (the twin's
forwarding, its remote accounts) opens replies with it."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from mirror_runtime.doors import ApiError
from mirror_schema.api import Operation, Reply, status_of

__all__ = ["BAD_GATEWAY", "open_reply"]

BAD_GATEWAY: Final = 502


def open_reply(operation: Operation[Any, Any], data: bytes) -> Any:
    """The result in a service's reply; an ApiError with the status its code maps to (and the
    reply's retry_after_seconds) when it reports an error; 502 when the service itself failed,
    or its reply is no Reply."""
    subject = operation.subject
    try:
        reply = msgspec.json.decode(data, type=Reply[operation.result])  # type: ignore[name-defined]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ApiError(
            f"the reply on {subject} is not the service's Reply ({exc})",
            code="internal",
            status=BAD_GATEWAY,
        ) from None
    if reply.code is not None or reply.error is not None:
        code = reply.code or "internal"
        status = BAD_GATEWAY if code == "internal" else status_of(code)
        raise ApiError(
            reply.error or f"{subject} failed ({code})",
            code=code,
            status=status,
            retry_after_seconds=reply.retry_after_seconds,
        )
    if reply.result is None:
        raise ApiError(f"the reply on {subject} has no result", code="internal", status=BAD_GATEWAY)
    return reply.result
