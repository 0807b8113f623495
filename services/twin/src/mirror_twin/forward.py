"""The HUD's one origin: the twin forwards its API calls to the owning services as NATS
requests (no service calls another over HTTP), each route built from the operation's
declaration (mirror_schema.api) like the service's own, so that paths, bodies, statuses and
error details are the same at both.

Only the operations in mirror_schema.forwarded.FORWARDED are forwarded. The twin's HTTP door
fills the operation's actor field with the logged-in operator (never what the body claims);
the owning service believes it because the request comes from the twin
(mirror_schema.identities).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client

from mirror_runtime.doors import ApiError
from mirror_runtime.implementations import Implementation
from mirror_runtime.replies import open_reply
from mirror_schema import codec
from mirror_schema.api import Operation
from mirror_schema.forwarded import FORWARDED
from mirror_schema.identities import request_subject
from mirror_twin.metrics import FORWARDED_TOTAL

__all__ = ["Forwarder", "implementations"]

log = structlog.get_logger()

GATEWAY_TIMEOUT: Final = 504


class Forwarder:
    """Sends one request per call and waits, as long as its operation says, for the owning
    service's reply: beyond, the HUD is told to try again."""

    def __init__(self, nc: Client, caller: str) -> None:
        self.nc = nc
        self.caller = caller  # the twin's identity: its requests go on <subject>.<caller>

    async def ask(self, operation: Operation[Any, Any], request: msgspec.Struct) -> Any:
        """Send `request` on the operation's subject; its result, or an ApiError."""
        subject = operation.subject
        assert subject is not None, f"{operation.label} has no NATS subject"
        service = operation.service
        within = operation.reply_within_seconds
        try:
            msg = await self.nc.request(
                request_subject(subject, self.caller), codec.encode(request), timeout=within
            )
        except nats.errors.NoRespondersError:
            FORWARDED_TOTAL.labels(subject, "no_responders").inc()
            raise ApiError(
                f"no {service} service answers on {subject}; is it running?", code="unavailable"
            ) from None
        except (nats.errors.TimeoutError, TimeoutError):
            FORWARDED_TOTAL.labels(subject, "timeout").inc()
            raise ApiError(
                f"the {service} service did not answer within {within:g} s; try again",
                code="unavailable",
                status=GATEWAY_TIMEOUT,
            ) from None
        except nats.errors.Error as exc:
            FORWARDED_TOTAL.labels(subject, "unavailable").inc()
            log.warning("forward.unavailable", subject=subject, error=str(exc))
            raise ApiError(
                f"the twin cannot reach NATS ({exc}); try again", code="unavailable"
            ) from None
        try:
            result = open_reply(operation, msg.data)
        except ApiError as exc:
            FORWARDED_TOTAL.labels(subject, str(exc.status)).inc()
            raise
        FORWARDED_TOTAL.labels(subject, "ok").inc()
        return result


def _forwarding(forwarder: Forwarder, operation: Operation[Any, Any]) -> Implementation[Any, Any]:
    async def run(request: msgspec.Struct, _actor: str | None) -> Any:
        return await forwarder.ask(operation, request)

    return Implementation(operation, run)


def implementations(
    forwarder: Forwarder, operations: Iterable[Operation[Any, Any]] = FORWARDED
) -> list[Implementation[Any, Any]]:
    """Each forwarded operation, carried out by asking its owning service."""
    return [_forwarding(forwarder, operation) for operation in operations]
