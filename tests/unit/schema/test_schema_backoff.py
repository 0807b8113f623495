"""Backoff: the one way every retry loop of the agent and the services waits."""

import pytest

from mirror_schema.backoff import Backoff


def test_delays_double_from_the_first_up_to_the_cap() -> None:
    """Each failure doubles the delay until the cap, which then holds."""
    backoff = Backoff(first=0.5, cap=5.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.failures == 7


def test_reset_starts_again_from_the_first_delay() -> None:
    """After a success the next failure waits the first delay again, not the last one."""
    backoff = Backoff(first=0.2, cap=5.0)
    backoff.next()
    backoff.next()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next() == 0.2


def test_a_first_delay_above_the_cap_is_held_to_the_cap() -> None:
    """The cap wins from the first failure on."""
    assert Backoff(first=2.0, cap=0.5).next() == 0.5


def test_another_factor_grows_by_it() -> None:
    """factor 3: 1, 3, 9, then the cap."""
    backoff = Backoff(first=1.0, cap=20.0, factor=3.0)
    assert [backoff.next() for _ in range(4)] == [1.0, 3.0, 9.0, 20.0]


def test_delay_of_a_retry_does_not_count_a_failure() -> None:
    """delay(n) answers for retry n whatever came before, and leaves the count alone."""
    backoff = Backoff(first=1.0, cap=30.0)
    assert backoff.delay(3) == 4.0
    assert backoff.failures == 0
    assert backoff.next() == 1.0


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999999])
def test_jitter_stays_within_its_band(draw: float) -> None:
    """With jitter j each delay lies in [d x (1 - j), d], whatever the draw."""
    backoff = Backoff(first=1.0, cap=8.0, jitter=0.5, random=lambda: draw)
    for ceiling in (1.0, 2.0, 4.0, 8.0, 8.0):
        delay = backoff.next()
        assert ceiling * 0.5 <= delay <= ceiling
        assert delay == pytest.approx(ceiling * (0.5 + 0.5 * draw))


def test_without_jitter_no_random_number_is_drawn() -> None:
    """jitter 0 is exact: the random source is never asked."""

    def never() -> float:
        raise AssertionError("drew a random number without jitter")

    assert Backoff(first=0.1, cap=1.0, random=never).next() == 0.1


def test_full_jitter_may_draw_down_to_nothing() -> None:
    """jitter 1: anywhere in [0, d]."""
    assert Backoff(first=4.0, cap=4.0, jitter=1.0, random=lambda: 0.0).next() == 0.0


def test_huge_retry_numbers_stay_at_the_cap() -> None:
    """A float power past its range does not overflow: the cap holds."""
    assert Backoff(first=1.0, cap=30.0).delay(100_000) == 30.0


@pytest.mark.parametrize(
    ("first", "cap", "factor", "jitter", "message"),
    [
        (0.0, 1.0, 2.0, 0.0, "first and cap: must be above 0"),
        (1.0, -1.0, 2.0, 0.0, "first and cap: must be above 0"),
        (1.0, 2.0, 0.5, 0.0, "factor: must be at least 1"),
        (1.0, 2.0, 2.0, 1.5, "jitter: must be between 0 and 1"),
    ],
)
def test_impossible_settings_are_refused_naming_them(
    first: float, cap: float, factor: float, jitter: float, message: str
) -> None:
    """A zero delay, a shrinking factor or a jitter outside [0, 1] is a caller's bug."""
    with pytest.raises(ValueError, match=message):
        Backoff(first=first, cap=cap, factor=factor, jitter=jitter)


def test_retries_count_from_one() -> None:
    """delay(0) is a caller's bug, said so."""
    with pytest.raises(ValueError, match="retry: counts from 1, got 0"):
        Backoff(first=1.0, cap=2.0).delay(0)
