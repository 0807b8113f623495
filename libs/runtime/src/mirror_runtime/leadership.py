"""Leadership: one replica of a service at a time, held as a lease in a NATS key-value bucket.

The lease is one key of a bucket whose entries the server removes ``lease_seconds`` after
their last write. The leader writes it again every ``renew_seconds``, each time only if it
still holds the revision it wrote last, so two replicas can never both renew it; a standby
creates it once it is gone. A leader that could not renew for ``lease_seconds -
MARGIN_SECONDS`` stops by itself (``Lease.held()`` turns false first), before the server can
hand the lease on. A replica killed with SIGKILL hands over within ``lease_seconds``; one that
stops cleanly deletes the key (only its own revision) and hands over at once.

Used by the alerts (one evaluator) and the twin (one checkpoint writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

import nats.errors
import nats.js.errors
import structlog
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from mirror_runtime.buckets import open_bucket
from mirror_schema.schedule import ticks

__all__ = ["Lead", "Leadership", "Lease", "LostLeadership"]

log = structlog.get_logger()

LEASE_SECONDS: Final = 5.0
RENEW_SECONDS: Final = 1.0
# A leader stops this long before the server could let its lease go: time to notice.
MARGIN_SECONDS: Final = 1.5
BUCKET_MAX_BYTES: Final = 1024 * 1024
UNAVAILABLE: Final = (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)


class Lease(Protocol):
    """What a term of leadership may ask: whether the lease is still surely this replica's."""

    def held(self) -> bool: ...


Lead = Callable[[Lease], Coroutine[Any, Any, None]]


class LostLeadership(Exception):  # noqa: N818 - an event, not a bug
    """The lease could not be renewed in time, or another replica holds it."""


class Leadership:
    """Runs ``lead(lease)`` while this replica holds the lease ``key`` of ``bucket``."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        bucket: str,
        key: str,
        retry_seconds: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.key = key
        self.retry_seconds = retry_seconds
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.identity = f"{socket.gethostname()}:{os.getpid()}".encode()
        self.leading = False
        self._renewed_at = -math.inf  # monotonic: when the last accepted write was sent

    def held(self) -> bool:
        """Whether this replica leads and its lease cannot have run out on the server."""
        since = time.monotonic() - self._renewed_at
        return self.leading and since < self.lease_seconds - MARGIN_SECONDS

    async def run(self, lead: Lead) -> None:
        """Forever (until cancelled): wait for the lease, then lead until it is lost."""
        while True:
            try:
                await self._hold_and_lead(lead)
            except UNAVAILABLE as exc:
                log.warning("leader.unavailable", lease=self.bucket, error=str(exc))
            except LostLeadership as exc:
                log.error("leader.lost", lease=self.bucket, error=str(exc))
            except Exception:
                # The loop's edge: a bug in one term of leadership must not end the service's
                # leading for good; the next term starts afresh.
                log.exception("leader.crashed", lease=self.bucket)
            await asyncio.sleep(self.retry_seconds)

    async def _hold_and_lead(self, lead: Lead) -> None:
        kv = await open_bucket(
            self.js, self.bucket, max_bytes=BUCKET_MAX_BYTES, ttl_seconds=self.lease_seconds
        )
        revision = await self._acquire(kv)
        self.leading = True
        log.info("leader.elected", lease=self.bucket)
        revisions = [revision]
        leading = asyncio.create_task(lead(self), name=f"{self.bucket}-lead")
        renewing = asyncio.create_task(self._renew(kv, revisions), name=f"{self.bucket}-lease")
        try:
            await asyncio.wait({leading, renewing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (leading, renewing):
                task.cancel()
            results = await asyncio.gather(leading, renewing, return_exceptions=True)
            self.leading = False
            # Handed over at once rather than when the lease runs out; only our own revision.
            with contextlib.suppress(*UNAVAILABLE):
                await asyncio.wait_for(kv.delete(self.key, last=revisions[-1]), self.renew_seconds)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    async def _acquire(self, kv: KeyValue) -> int:
        while True:
            sent = time.monotonic()
            try:
                revision = await kv.create(self.key, self.identity)
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.KeyNotFoundError):
                await asyncio.sleep(self.retry_seconds)  # another replica leads
                continue
            self._renewed_at = sent
            return revision

    async def _renew(self, kv: KeyValue, revisions: list[int]) -> None:
        async for _ in ticks(self.renew_seconds):
            sent = time.monotonic()
            try:
                revision = await asyncio.wait_for(
                    kv.update(self.key, self.identity, last=revisions[-1]), self.renew_seconds
                )
            except nats.js.errors.KeyWrongLastSequenceError as exc:
                raise LostLeadership(f"the lease was taken over or ran out: {exc}") from exc
            except UNAVAILABLE as exc:
                log.warning("leader.renew_failed", lease=self.bucket, error=str(exc))
            else:
                revisions.append(revision)
                del revisions[:-1]
                self._renewed_at = sent
            if not self.held():
                raise LostLeadership(
                    f"the lease was not renewed for {time.monotonic() - self._renewed_at:.1f} s"
                )
