"""Deltas and per-second rates of monotonic counters that may reset."""

from __future__ import annotations

__all__ = ["counter_delta", "rate_per_second"]


def counter_delta(previous: int | None, current: int | None) -> int | None:
    """Return how much a counter grew, or None when either reading is missing or it went back.

    A counter that goes backwards was reset (reboot, agent restart, driver reload, wrap);
    the growth since the reset is unknowable, so the answer is "unknown", never a negative
    number or a spike.
    """
    if previous is None or current is None or current < previous:
        return None
    return current - previous


def rate_per_second(previous: int | None, current: int | None, seconds: float) -> float | None:
    """Return the counter's growth per second over ``seconds``, or None when it is unknown.

    Unknown when ``seconds`` is not positive (a duplicate or out-of-order sample) or when
    :func:`counter_delta` is None.
    """
    if not seconds > 0:  # written this way so NaN is rejected too
        return None
    delta = counter_delta(previous, current)
    if delta is None:
        return None
    return delta / seconds
