"""POST /api/metrics/batch: read a capped body, validate, rate-limit, publish, answer 202.

Statuses: 202 accepted (every sample acknowledged by JetStream); 400 body not JSON or a bad
Content-Length; 413 body over ``max_body_bytes``, more than ``max_batch_samples`` samples, or
more samples of one host than its burst (waiting cannot help); 422 a sample or the envelope
breaks the schema; 429 a host is over its rate (with Retry-After); 503 JetStream did not
acknowledge every sample (with Retry-After; nothing counts as accepted, and the retried batch is
deduplicated by Msg-Id). Tokens taken for a batch that then fails to publish are refunded.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec
import structlog
from fastapi import APIRouter, Request, Response

from mirror_ingest.batch import SamplePublisher
from mirror_ingest.config import IngestConfig
from mirror_ingest.errors import BatchExceedsBurstError, BatchRejectedError, PublishFailedError
from mirror_ingest.metrics import ACCEPTED, REJECTED
from mirror_ingest.ratelimit import HostRateLimiter
from mirror_ingest.tokens import TokenTable
from mirror_ingest.validation import AcceptedSample, validate_batch

__all__ = ["BatchAccepted", "agent_host", "batch_router"]

log = structlog.get_logger()

_NO_AGENT_CREDENTIALS: Final = (
    "an enrolled agent's token is required, as `Bearer TOKEN` or as HTTP Basic with the host "
    "id as user and the token as password (mirror-stage agent enroll HOST prints one)"
)
_CHALLENGES: Final = 'Bearer, Basic realm="MIRROR STAGE agents"'

# A NATS outage or a leader election usually ends within seconds; agents back off beyond that.
_PUBLISH_RETRY_AFTER_SECONDS: Final = 5


class BatchAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """Body of the 202 answer."""

    accepted: int
    timestamp: datetime


class _Problem(msgspec.Struct, frozen=True):
    detail: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def batch_router(
    publisher: SamplePublisher,
    limiter: HostRateLimiter,
    config: IngestConfig,
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> APIRouter:
    """The agents' batch route onto METRICS; ``clock`` (aware datetimes) is for tests."""
    router = APIRouter()
    tokens = TokenTable(Path(config.tokens_file)) if config.tokens_file else None

    @router.post("/api/metrics/batch", status_code=202)
    async def post_batch(request: Request) -> Response:
        """Accept ``{"samples": [MetricSample, ...]}`` and publish each sample to its host."""
        host: str | None = None
        if tokens is not None:
            host, problem = agent_host(tokens, request.headers.get("authorization"))
            if host is None:
                response = _refuse(401, f"Authorization: {problem}", "unauthorised")
                response.headers["WWW-Authenticate"] = _CHALLENGES
                return response
        try:
            body = await _read_capped(request, config.max_body_bytes)
            now = clock()
            samples = validate_batch(
                body,
                now=now,
                max_samples=config.max_batch_samples,
                max_future_seconds=config.max_future_seconds,
                max_age_seconds=config.max_age_seconds,
            )
        except BatchRejectedError as exc:
            return _refuse(exc.status, exc.detail, exc.reason)
        if host is not None:
            for index, sample in enumerate(samples):
                if sample.host_id != host:
                    return _refuse(
                        403,
                        f"samples[{index}].host_id: {sample.host_id!r} is not {host!r}, the "
                        "only host this token may post for",
                        "wrong_host",
                    )
        counts = _per_host(samples)
        try:
            wait = limiter.take(counts)
        except BatchExceedsBurstError as exc:
            return _refuse(413, str(exc), "over_burst")
        if wait is not None:
            return _refuse(
                429,
                f"samples: host rate exceeded for {_names(counts)} (at most "
                f"{config.host_rate_per_second:g} samples per second per host, bursts of "
                f"{config.host_burst:g}); retry after {wait:.0f} s",
                "rate_limited",
                retry_after=wait,
            )
        try:
            await publisher.publish(samples)
        except PublishFailedError as exc:
            limiter.refund(counts)
            return _refuse(
                503,
                f"NATS did not acknowledge the batch ({exc.reason}); nothing was accepted, "
                "retry the whole batch",
                "publish_failed",
                retry_after=_PUBLISH_RETRY_AFTER_SECONDS,
            )
        ACCEPTED.inc(len(samples))
        return _json(202, BatchAccepted(accepted=len(samples), timestamp=now))

    return router


def agent_host(tokens: TokenTable, header: str | None) -> tuple[str | None, str]:
    """The host the request's credentials post for, or None and what is wrong with them.

    A bearer token names its host. HTTP Basic, as an unchanged REFLECTOR sends when its endpoint
    URL carries `HOST:TOKEN@`, must name the token's own host as its user.
    """
    scheme, _, credentials = (header or "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        host = tokens.host_for(credentials)
        return host, "" if host else _NO_AGENT_CREDENTIALS
    if scheme.lower() == "basic" and credentials:
        try:
            user, colon, token = (
                base64.b64decode(credentials, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None, "Basic credentials are not base64 of HOST:TOKEN"
        host = tokens.host_for(token) if colon and token else None
        if host is None:
            return None, _NO_AGENT_CREDENTIALS
        if user != host:
            return None, f"Basic user {user!r} is not the host this token was issued for"
        return host, ""
    return None, _NO_AGENT_CREDENTIALS


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BatchRejectedError(
                400, f"Content-Length: {declared!r} is not a number of bytes", "bad_length"
            ) from None
        if length > limit:
            raise _too_large(f"{length} bytes", limit)
    body = bytearray()
    # A chunked body has no Content-Length: count as it arrives, never holding more than limit.
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise _too_large(f"more than {limit} bytes", limit)
        body += chunk
    return bytes(body)


def _too_large(size: str, limit: int) -> BatchRejectedError:
    return BatchRejectedError(
        413,
        f"body: {size}, over the limit of {limit} bytes; split the samples into smaller batches",
        "body_too_large",
    )


def _names(counts: Counter[str], shown: int = 5) -> str:
    names = sorted(counts)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(repr(name) for name in names[:shown]) + more


def _per_host(samples: list[AcceptedSample]) -> Counter[str]:
    return Counter(sample.host_id for sample in samples)


def _refuse(status: int, detail: str, reason: str, *, retry_after: float | None = None) -> Response:
    REJECTED.labels(reason=reason).inc()
    # warning: the input was refused; error: the bus failed us, a person should look.
    level = log.error if status >= 500 else log.warning
    level("batch.rejected", status=status, reason=reason, detail=detail)
    headers = None if retry_after is None else {"Retry-After": str(int(retry_after))}
    return _json(status, _Problem(detail), headers=headers)


def _json(status: int, body: msgspec.Struct, *, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
