"""HostRateLimiter: per-host token buckets, debited all-or-nothing for a whole batch."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from mirror_ingest.errors import BatchExceedsBurstError

__all__ = ["HostRateLimiter"]

# Refills are float sums: 9.999999999 tokens must still pay for 10 samples.
_EPSILON: Final = 1e-9


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float


class HostRateLimiter:
    """Token buckets per host: ``rate_per_second`` samples on average, ``burst`` at once.

    Memory is bounded: past ``max_hosts`` buckets, the least recently used ones are dropped.
    A dropped bucket comes back full, which loses nothing for a host that was idle long enough
    to refill; a host evicted while in debt gets up to ``burst`` samples of credit early, an
    overcount accepted to keep memory bounded when more hosts post than ``max_hosts``.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        *,
        max_hosts: int = 100_000,
        # time.monotonic(): refills must survive NTP steps of the wall clock.
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError(f"rate_per_second must be > 0, got {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        if max_hosts < 1:
            raise ValueError(f"max_hosts must be >= 1, got {max_hosts}")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_hosts = max_hosts
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """How many hosts have a bucket right now."""
        return len(self._buckets)

    def take(self, counts: Mapping[str, int]) -> float | None:
        """Debit ``counts`` (samples per host) if every host has the tokens, and return None.

        Otherwise debit nothing and return the whole seconds (>= 1) until the batch would fit,
        for a Retry-After header. Raise :class:`BatchExceedsBurstError` when a host's count is
        above the burst: that batch can never fit.
        """
        for host_id, count in counts.items():
            if count > self.burst:
                raise BatchExceedsBurstError(host_id, count, self.burst)
        now = self._clock()
        buckets = {host_id: self._refilled(host_id, now) for host_id in counts}
        shortfall = max(
            (count - buckets[host_id].tokens for host_id, count in counts.items()), default=0.0
        )
        if shortfall > _EPSILON:
            self._evict()
            return float(max(1, math.ceil(shortfall / self.rate_per_second)))
        for host_id, count in counts.items():
            buckets[host_id].tokens -= count
        self._evict()
        return None

    def refund(self, counts: Mapping[str, int]) -> None:
        """Give back tokens taken for a batch that was not accepted after all (never past burst)."""
        now = self._clock()
        for host_id, count in counts.items():
            bucket = self._refilled(host_id, now)
            bucket.tokens = min(self.burst, bucket.tokens + count)
        self._evict()

    def _refilled(self, host_id: str, now: float) -> _Bucket:
        bucket = self._buckets.get(host_id)
        if bucket is None:
            bucket = self._buckets[host_id] = _Bucket(tokens=self.burst, updated_at=now)
        else:
            self._buckets.move_to_end(host_id)
            elapsed = max(0.0, now - bucket.updated_at)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate_per_second)
            bucket.updated_at = now
        return bucket

    def _evict(self) -> None:
        while len(self._buckets) > self.max_hosts:
            self._buckets.popitem(last=False)
