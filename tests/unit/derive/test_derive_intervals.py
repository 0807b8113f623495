"""Silence in a host's own intervals: what the twin's status and the offline alert both use."""

from datetime import UTC, datetime, timedelta

import pytest

from mirror_derive import DEFAULT_INTERVAL_SECONDS, own_interval, silent_intervals

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [(10.0, 10.0), (None, DEFAULT_INTERVAL_SECONDS), (0.0, DEFAULT_INTERVAL_SECONDS)],
)
def test_own_interval_falls_back_when_none_is_reported(
    reported: float | None, expected: float
) -> None:
    assert own_interval(reported) == expected


def test_silence_is_counted_in_the_hosts_own_intervals() -> None:
    assert silent_intervals(T0, 10.0, T0 + timedelta(seconds=35)) == 3.5
    assert silent_intervals(T0, None, T0 + timedelta(seconds=35)) == 7.0
    assert silent_intervals(T0, 10.0, T0 - timedelta(seconds=5)) < 0  # clock skew: not silent
