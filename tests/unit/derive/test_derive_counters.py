"""Counter deltas and rates: a reset is unknown, never negative or a spike."""

import pytest

from mirror_derive import counter_delta, rate_per_second


def test_delta_of_growing_counter_is_the_difference() -> None:
    """A counter that grew by 500 gives a delta of 500."""
    assert counter_delta(1_000, 1_500) == 500


def test_delta_of_unchanged_counter_is_zero() -> None:
    """No traffic is a known zero, not unknown."""
    assert counter_delta(7, 7) == 0


def test_delta_of_reset_counter_is_unknown() -> None:
    """A counter that went backwards (reset, agent restart) gives None, never a negative."""
    assert counter_delta(10_000, 200) is None


@pytest.mark.parametrize(("previous", "current"), [(None, 5), (5, None), (None, None)])
def test_delta_with_a_missing_reading_is_unknown(previous: int | None, current: int | None) -> None:
    """Either reading missing gives None."""
    assert counter_delta(previous, current) is None


def test_rate_is_delta_over_seconds() -> None:
    """1,000 more over 4 s is 250 per second."""
    assert rate_per_second(0, 1_000, 4.0) == 250.0


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("nan")])
def test_rate_over_no_time_is_unknown(seconds: float) -> None:
    """A duplicate or out-of-order sample (no positive time) gives no rate."""
    assert rate_per_second(0, 1_000, seconds) is None


def test_rate_after_reset_is_unknown() -> None:
    """A reset gives no rate rather than a negative one."""
    assert rate_per_second(5_000, 10, 10.0) is None
