"""Retry backoff: exponential, jittered within known bounds, capped."""

import msgspec
import pytest

from mirror_alerts.notify.webhook import RetryPolicy, backoff

POLICY = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=30.0)


@pytest.mark.parametrize(
    ("retry", "low", "high"),
    [
        (1, 0.5, 1.0),
        (2, 1.0, 2.0),
        (3, 2.0, 4.0),
        (5, 8.0, 16.0),
        (6, 15.0, 30.0),
        (60, 15.0, 30.0),
    ],
)
def test_delay_doubles_and_stays_within_its_jitter_band(
    retry: int, low: float, high: float
) -> None:
    """Retry n waits in [d/2, d] with d = min(max, base * 2**(n-1)), whatever the jitter draws."""
    assert backoff(POLICY, lambda: 0.0).delay(retry) == low
    assert low <= backoff(POLICY, lambda: 0.5).delay(retry) <= high
    assert backoff(POLICY, lambda: 0.999999).delay(retry) == pytest.approx(high, rel=1e-5)


def test_huge_retry_numbers_do_not_overflow() -> None:
    """The cap holds even for a retry count nobody should configure."""
    assert backoff(POLICY, lambda: 1.0).delay(10_000) == 30.0


def test_the_worst_case_total_wait_is_bounded_by_attempts() -> None:
    """With max_attempts, the sum of waits is at most the sum of the ceilings."""
    policy = RetryPolicy(max_attempts=5, base_delay_seconds=1.0, max_delay_seconds=30.0)
    worst = sum(backoff(policy, lambda: 1.0).delay(n) for n in range(1, policy.max_attempts))
    assert worst == 1 + 2 + 4 + 8


def test_retry_counts_from_one() -> None:
    """Retry 0 is a caller's bug, said so."""
    with pytest.raises(ValueError, match="retry: counts from 1"):
        backoff(POLICY, lambda: 0.0).delay(0)


def test_policy_values_are_validated_naming_the_field() -> None:
    """A policy from config with a zero timeout fails naming it."""
    with pytest.raises(msgspec.ValidationError, match=r"\$.timeout_seconds"):
        msgspec.convert({"timeout_seconds": 0}, RetryPolicy)
