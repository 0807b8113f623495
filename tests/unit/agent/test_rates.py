"""Counter math: deltas, per-second rates and CPU busy share."""

import pytest

from mirror_agent.rates import busy_percent, counter_delta, per_second


def test_a_counter_that_grew_gives_its_increase() -> None:
    """A normal increase is current minus previous, for ints and floats alike."""
    assert counter_delta(1_000, 1_500) == 500
    assert counter_delta(2.5, 4.0) == pytest.approx(1.5)
    assert counter_delta(7, 7) == 0


def test_a_counter_that_went_backwards_gives_none_not_a_negative() -> None:
    """A reset (reboot, driver reload) gives None: never a negative delta."""
    assert counter_delta(1_000_000, 12) is None


def test_a_32_bit_wrap_gives_none_not_a_spike() -> None:
    """A wrapped 32-bit counter cannot be told from a reset, so it is not turned into a spike."""
    assert counter_delta(2**32 - 100, 50) is None


def test_per_second_divides_the_increase_by_the_samples_own_interval() -> None:
    """The rate uses the two samples' timestamps, not the nominal interval."""
    assert per_second(1_000, 4_000, previous_at=10.0, current_at=12.0) == pytest.approx(1_500.0)


def test_per_second_is_none_when_no_time_elapsed() -> None:
    """Readings at the same instant (or out of order) have no rate, not a division error."""
    assert per_second(1_000, 4_000, previous_at=10.0, current_at=10.0) is None
    assert per_second(1_000, 4_000, previous_at=10.0, current_at=9.0) is None


def test_per_second_is_none_after_a_reset() -> None:
    """A counter reset between two samples gives no rate rather than a negative one."""
    assert per_second(4_000, 10, previous_at=10.0, current_at=15.0) is None


def test_busy_percent_is_the_busy_share_of_elapsed_cpu_time() -> None:
    """25 busy seconds out of 100 elapsed CPU seconds is 25 %."""
    assert busy_percent(10.0, 100.0, 35.0, 200.0) == pytest.approx(25.0)


def test_busy_percent_is_none_within_one_tick() -> None:
    """No CPU time elapsed between two readings: nothing was measured, so None, not 0 or 100."""
    assert busy_percent(10.0, 100.0, 10.0, 100.0) is None


def test_busy_percent_is_clamped_to_0_100() -> None:
    """Busy and total are read a hair apart; the share never leaves 0-100."""
    assert busy_percent(10.0, 100.0, 30.0, 110.0) == 100.0
    assert busy_percent(10.0, 100.0, 9.0, 110.0) == 0.0


def test_busy_percent_is_none_after_a_reset() -> None:
    """CPU counters that went backwards give None."""
    assert busy_percent(10.0, 100.0, 1.0, 5.0) is None
