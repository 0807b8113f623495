"""Webhook delivery: one body POSTed to one receiver, retried with backoff, bounded in time.

Retried: transport errors and timeouts, 408, 429 (honouring a Retry-After in seconds, up to
the policy's max delay) and 5xx. Not retried: other 4xx (the request itself is wrong, e.g. a
revoked token) and 3xx (redirects are not followed: a webhook URL that moved is a config fix).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import httpx
import msgspec

from mirror_alerts.notify.receivers import Receiver
from mirror_schema.backoff import Backoff

__all__ = ["DeliveryResult", "RetryPolicy", "backoff", "deliver"]

Positive = Annotated[float, msgspec.Meta(gt=0)]

# Each delay drawn from its upper half: receivers that failed together are not hit together.
EQUAL_JITTER = 0.5


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How hard to try one delivery: per attempt, how many, how far apart, how long in all."""

    timeout_seconds: Positive = 10.0  # per attempt: connect, write, read
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    base_delay_seconds: Positive = 1.0  # before the first retry, before jitter
    max_delay_seconds: Positive = 30.0  # the cap of any one delay
    max_total_seconds: Positive = 120.0  # no attempt starts after this, counted from the first


class DeliveryResult(msgspec.Struct, frozen=True, kw_only=True):
    """How one delivery ended."""

    outcome: Literal["sent", "rejected", "gave_up"]  # rejected: a 4xx not worth retrying
    attempts: int
    status: int | None = None  # the last HTTP status, None if none came back
    error: str | None = None  # the last transport error, e.g. "ReadTimeout"


def backoff(policy: RetryPolicy, random: Callable[[], float]) -> Backoff:
    """The delays between one delivery's attempts: exponential with "equal jitter", so retry
    n waits between d/2 and d, d = min(max_delay, base * 2**(n-1)); `random()` returns a float
    in [0, 1)."""
    return Backoff(
        first=policy.base_delay_seconds,
        cap=policy.max_delay_seconds,
        jitter=EQUAL_JITTER,
        random=random,
    )


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: the backoff stands


async def deliver(
    client: httpx.AsyncClient,
    receiver: Receiver,
    body: bytes,
    policy: RetryPolicy,
    *,
    random: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """POST `body` to `receiver` until it answers 2xx, refuses for good, or the policy ends."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mirror-stage-alerts",
        **receiver.headers,
    }
    deadline = clock() + policy.max_total_seconds
    delays = backoff(policy, random)
    status: int | None = None
    error: str | None = None
    attempt = 0
    while True:
        attempt += 1
        retry_after: float | None = None
        try:
            # The last attempt must not run past the total budget either.
            timeout = max(0.001, min(policy.timeout_seconds, deadline - clock()))
            response = await client.post(
                receiver.url, content=body, headers=headers, timeout=timeout
            )
        except httpx.TransportError as exc:  # includes every timeout
            status, error = None, type(exc).__name__
        else:
            status, error = response.status_code, None
            if response.is_success:
                return DeliveryResult(outcome="sent", attempts=attempt, status=status)
            if not _retryable(status):
                return DeliveryResult(outcome="rejected", attempts=attempt, status=status)
            if status == 429:
                retry_after = _retry_after(response)
        if attempt >= policy.max_attempts:
            break
        delay = delays.next()
        if retry_after is not None:
            delay = max(delay, min(retry_after, policy.max_delay_seconds))
        if clock() + delay >= deadline:
            break
        await sleep(delay)
    return DeliveryResult(outcome="gave_up", attempts=attempt, status=status, error=error)
