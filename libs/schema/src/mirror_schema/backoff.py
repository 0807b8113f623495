"""Backoff: how long to wait before trying again, growing after each failure up to a cap.

It lives in mirror_schema, the one library the agent shares with the services, so that every
retry loop of both waits the same way and the agent gains no dependency for it.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays `first`, `first` x `factor`, ... up to `cap`; `next()` after each failure,
    `reset()` after a success.

    With `jitter` j, each delay d is drawn from [d x (1 - j), d] (0.5 is "equal jitter"), so
    that many clients failing together do not all come back at the same instant.
    """

    def __init__(
        self,
        first: float,
        cap: float,
        *,
        factor: float = 2.0,
        jitter: float = 0.0,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if first <= 0 or cap <= 0:
            raise ValueError(f"first and cap: must be above 0 seconds, got {first} and {cap}")
        if factor < 1:
            raise ValueError(f"factor: must be at least 1 (delays never shrink), got {factor}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter: must be between 0 and 1, got {jitter}")
        self.first = first
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.random = random
        self.failures = 0  # next() calls since the last reset()

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 = the first), whatever came before."""
        if retry < 1:
            raise ValueError(f"retry: counts from 1, got {retry}")
        try:
            ceiling = min(self.cap, self.first * self.factor ** (retry - 1))
        except OverflowError:  # a float power past 1e308: long past the cap
            ceiling = self.cap
        if not self.jitter:
            return ceiling
        return ceiling * (1 - self.jitter) + self.random() * ceiling * self.jitter

    def next(self) -> float:
        """The delay before the next retry: one failure more than the last call."""
        self.failures += 1
        return self.delay(self.failures)

    def reset(self) -> None:
        """Start again from `first` (the thing tried has worked)."""
        self.failures = 0
