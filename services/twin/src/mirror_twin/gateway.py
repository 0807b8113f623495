"""The HUD's one origin: the twin forwards its API calls to the owning services as NATS
requests (no service calls another over HTTP) and turns their replies into HTTP answers.

Every service's reply names what went wrong in ``error`` with a ``code``; those become the
same statuses the service's own HTTP API would answer.
"""

from typing import Any, Final

import msgspec
import nats.errors
import prometheus_client
import structlog
from nats.aio.client import Client

from mirror_schema.identities import request_subject

log = structlog.get_logger()

FORWARDED = prometheus_client.Counter(
    "mirror_twin_forwarded_total",
    "The HUD's API calls forwarded to the owning service, by subject and outcome",
    ["subject", "outcome"],
)

# What a request may wait for its reply: beyond, the HUD is told to try again.
REQUEST_TIMEOUT_SECONDS: Final = 5.0

_STATUS_OF_CODE: Final = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,
    "unauthorized": 401,
    "forbidden": 403,
    "locked": 429,
    "internal": 502,  # the owning service failed: not the twin's own error
}


class GatewayError(Exception):
    """A forwarded call that has no result: its HTTP status and a detail for people."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(detail)


def status_of(code: object) -> int:
    """The HTTP status of a reply's error code (422 when it has none)."""
    return _STATUS_OF_CODE.get(code, 422) if isinstance(code, str) else 422


def unwrap(subject: str, data: bytes) -> dict[str, Any]:
    """A service's reply as a JSON object without its error fields; GatewayError when it
    reports an error."""
    try:
        reply = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise GatewayError(502, f"the reply on {subject} is not JSON") from None
    if not isinstance(reply, dict):
        raise GatewayError(502, f"the reply on {subject} is not a JSON object")
    error = reply.pop("error", None)
    code = reply.pop("code", None)
    if error:
        raise GatewayError(status_of(code), str(error))
    return reply


class Gateway:
    """Sends one request per call and waits, bounded, for the owning service's reply."""

    def __init__(self, nc: Client, caller: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self.nc = nc
        self.caller = caller  # the twin's identity: its requests go on <subject>.<caller>
        self.timeout = timeout

    async def ask(self, subject: str, body: object) -> dict[str, Any]:
        """Send `body` as JSON on `subject`; the reply, unwrapped (GatewayError otherwise)."""
        service = subject.split(".", 1)[0]
        try:
            msg = await self.nc.request(
                request_subject(subject, self.caller),
                msgspec.json.encode(body),
                timeout=self.timeout,
            )
        except nats.errors.NoRespondersError:
            FORWARDED.labels(subject, "no_responders").inc()
            raise GatewayError(
                503, f"no {service} service answers on {subject}; is it running?"
            ) from None
        except (nats.errors.TimeoutError, TimeoutError):
            FORWARDED.labels(subject, "timeout").inc()
            raise GatewayError(
                504, f"the {service} service did not answer within {self.timeout:g} s; try again"
            ) from None
        except nats.errors.Error as exc:
            FORWARDED.labels(subject, "unavailable").inc()
            log.warning("gateway.unavailable", subject=subject, error=str(exc))
            raise GatewayError(503, f"the twin cannot reach NATS ({exc}); try again") from None
        try:
            reply = unwrap(subject, msg.data)
        except GatewayError as exc:
            FORWARDED.labels(subject, str(exc.status)).inc()
            raise
        FORWARDED.labels(subject, "ok").inc()
        return reply
