"""Counter math: deltas that refuse to go negative, and per-second rates over own timestamps."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["busy_percent", "counter_delta", "per_second"]

N = TypeVar("N", int, float)


def counter_delta(previous: N, current: N) -> N | None:
    """Return ``current - previous``, or None when the counter went backwards.

    A counter that goes backwards was reset (reboot, driver reload, 32-bit wrap, pid reuse):
    the true increase is unknowable, so the caller gets None instead of a negative or a spike.
    """
    if current < previous:
        return None
    return current - previous


def per_second(
    previous: float, current: float, previous_at: float, current_at: float
) -> float | None:
    """Return the counter's increase per second between two timestamps, or None if unknowable.

    None when the counter went backwards or no time elapsed (a zero or negative interval
    would divide by zero or invert the sign).
    """
    elapsed = current_at - previous_at
    if elapsed <= 0:
        return None
    delta = counter_delta(previous, current)
    if delta is None:
        return None
    return delta / elapsed


def busy_percent(
    previous_busy: float, previous_total: float, busy: float, total: float
) -> float | None:
    """Return the busy share of the CPU time elapsed between two readings, 0-100.

    None when no CPU time elapsed (two readings within one clock tick) or the counters went
    backwards; the result is clamped because busy and total are read a hair apart.
    """
    total_delta = counter_delta(previous_total, total)
    if not total_delta:
        return None
    busy_delta = busy - previous_busy
    return min(100.0, max(0.0, busy_delta / total_delta * 100.0))
