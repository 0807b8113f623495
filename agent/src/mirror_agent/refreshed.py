"""Refreshed: a reading that changes rarely, re-read at most every few seconds."""

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Refreshed(Generic[T]):
    """Holds the last result of `read` for `seconds` (monotonic clock), then reads again."""

    def __init__(
        self, read: Callable[[], T], seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.read = read
        self.seconds = seconds
        self.clock = clock
        self._value: T | None = None
        self._read_at = float("-inf")

    def get(self) -> T:
        """The cached value, or a fresh one when it is older than `seconds`."""
        now = self.clock()
        if self._value is None or now - self._read_at >= self.seconds:
            self._value = self.read()
            self._read_at = now
        return self._value
