"""How long a host has been silent, in its own sampling intervals: stale, offline, alerting."""

from datetime import datetime
from typing import Final

__all__ = ["DEFAULT_INTERVAL_SECONDS", "own_interval", "silent_intervals"]

# For agents that do not report interval_seconds (the original agent).
DEFAULT_INTERVAL_SECONDS: Final = 5.0


def own_interval(
    interval_seconds: float | None, default: float = DEFAULT_INTERVAL_SECONDS
) -> float:
    """The host's sampling interval, or ``default`` when it reports none (or a non-positive one)."""
    return interval_seconds if interval_seconds is not None and interval_seconds > 0 else default


def silent_intervals(
    last_seen: datetime,
    interval_seconds: float | None,
    now: datetime,
    default: float = DEFAULT_INTERVAL_SECONDS,
) -> float:
    """How many of its own intervals have passed since the host was last heard from.

    Negative when ``last_seen`` is in the future (clock skew): such a host is not silent.
    """
    return (now - last_seen).total_seconds() / own_interval(interval_seconds, default)
