"""Drift-free ticks: tick n is due at start + n x interval; missed ticks are skipped."""

import math
import time


class Schedule:
    """Yields the delay until the next due tick, measured on the monotonic clock."""

    def __init__(self, interval_seconds: float, *, start: float | None = None) -> None:
        self.interval = interval_seconds
        self.start = time.monotonic() if start is None else start
        self.tick = 0

    def next_delay(self, now: float | None = None) -> float:
        """Seconds to wait for the next tick; skips ticks whose time has already passed."""
        now = time.monotonic() if now is None else now
        self.tick += 1
        due = self.start + self.tick * self.interval
        if due < now:
            self.tick = math.floor((now - self.start) / self.interval) + 1
            due = self.start + self.tick * self.interval
        return due - now
