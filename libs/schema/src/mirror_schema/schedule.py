"""Drift-free periodic work: tick n is due at start + n x interval, however long the work
between ticks took; ticks whose time passed during the work are skipped, not bunched.

It lives in mirror_schema, the one library the agent shares with the services, so that every
periodic loop of both keeps time the same way and the agent gains no dependency for it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

__all__ = ["Schedule", "ticks"]


class Schedule:
    """Yields the delay until the next due tick, measured on the monotonic clock."""

    def __init__(self, interval_seconds: float, *, start: float | None = None) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds: must be above 0, got {interval_seconds}")
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


async def ticks(
    interval_seconds: float, stop: asyncio.Event | None = None, *, at_start: bool = False
) -> AsyncIterator[int]:
    """Yield each tick's number as it falls due, from now: 1, 2, ... (0 first, at once, with
    `at_start`). Ends as soon as `stop` is set; without `stop`, only by cancelling the task.

    The body of the caller's `async for` is the work: the next tick is counted from the start,
    not from the end of the work, so that the work does not drift later and later.
    """
    schedule = Schedule(interval_seconds)
    if at_start:
        if stop is not None and stop.is_set():
            return
        yield 0
    while True:
        if not await _sleep_unless_stopped(schedule.next_delay(), stop):
            return
        yield schedule.tick


async def _sleep_unless_stopped(seconds: float, stop: asyncio.Event | None) -> bool:
    """Sleep `seconds`; False, at once, when `stop` is (or becomes) set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return True
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return True
    return False
