"""AddressThrottle: failed logins counted per address over a sliding window."""

from datetime import UTC, datetime, timedelta

import pytest

from mirror_runtime.auth import throttle
from mirror_runtime.auth.throttle import AddressThrottle

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_an_address_is_refused_at_the_limit_until_its_oldest_failure_ages_out() -> None:
    limit = AddressThrottle(3, WINDOW)
    for minute in range(3):
        assert limit.retry_after("10.0.0.9", START + timedelta(minutes=minute)) is None
        limit.failed("10.0.0.9", START + timedelta(minutes=minute))
    now = START + timedelta(minutes=5)
    assert limit.retry_after("10.0.0.9", now) == (WINDOW - timedelta(minutes=5)).total_seconds()
    assert limit.retry_after("10.0.0.10", now) is None  # another address is not held back
    assert limit.retry_after("10.0.0.9", START + WINDOW + timedelta(seconds=1)) is None


def test_an_unknown_address_is_never_throttled() -> None:
    limit = AddressThrottle(1, WINDOW)
    limit.failed(None, START)
    assert limit.retry_after(None, START) is None


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_ADDRESSES", 5)
    limit = AddressThrottle(1, WINDOW)
    for n in range(20):
        limit.failed(f"10.0.0.{n}", START)
    assert len(limit._failures) == 5
    assert limit.retry_after("10.0.0.19", START) is not None
    assert limit.retry_after("10.0.0.0", START) is None  # the oldest was forgotten
