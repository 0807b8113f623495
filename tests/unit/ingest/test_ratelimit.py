"""HostRateLimiter: per-host buckets, all-or-nothing batches, bounded memory, on a fake clock."""

import pytest

from mirror_ingest.errors import BatchExceedsBurstError
from mirror_ingest.ratelimit import HostRateLimiter


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(
    rate: float = 10, burst: float = 20, *, max_hosts: int = 100
) -> tuple[HostRateLimiter, FakeClock]:
    clock = FakeClock()
    return HostRateLimiter(rate, burst, max_hosts=max_hosts, clock=clock), clock


def test_a_new_host_may_send_a_full_burst_then_no_more() -> None:
    """A fresh bucket holds `burst` tokens; the sample after them waits."""
    rl, _ = limiter(rate=10, burst=20)
    assert rl.take({"a": 20}) is None
    assert rl.take({"a": 1}) == 1.0


def test_tokens_refill_at_the_rate_over_time() -> None:
    """At 10/s, half a second buys 5 samples, and refills stop at the burst."""
    rl, clock = limiter(rate=10, burst=20)
    assert rl.take({"a": 20}) is None
    clock.advance(0.5)
    assert rl.take({"a": 6}) is not None
    assert rl.take({"a": 5}) is None
    clock.advance(3600)
    assert rl.take({"a": 20}) is None
    assert rl.take({"a": 1}) is not None


def test_retry_after_is_the_whole_seconds_until_the_batch_fits() -> None:
    """Rounded up, at least 1: 15 samples short at 2/s is 8 s."""
    rl, clock = limiter(rate=2, burst=20)
    assert rl.take({"a": 20}) is None
    assert rl.take({"a": 15}) == 8.0
    assert rl.take({"a": 1}) == 1.0
    clock.advance(7.9)
    assert rl.take({"a": 16}) == 1.0
    clock.advance(0.1)
    assert rl.take({"a": 16}) is None


def test_a_batch_is_debited_all_or_nothing_across_its_hosts() -> None:
    """When one host is short, no host is debited; the wait is the longest host's."""
    rl, _ = limiter(rate=1, burst=10)
    assert rl.take({"b": 8}) is None
    assert rl.take({"a": 5, "b": 5}) == 3.0
    assert rl.take({"a": 10}) is None  # "a" lost nothing to the refused batch
    assert rl.take({"b": 2}) is None
    assert rl.take({"a": 1, "b": 1}) is not None


def test_a_refund_gives_tokens_back_up_to_the_burst() -> None:
    """Tokens taken for a batch that then failed to publish are returned, never past burst."""
    rl, _ = limiter(rate=1, burst=10)
    assert rl.take({"a": 10}) is None
    rl.refund({"a": 10})
    rl.refund({"a": 10})
    assert rl.take({"a": 10}) is None
    assert rl.take({"a": 1}) is not None


def test_a_batch_larger_than_the_burst_can_never_pass() -> None:
    """More samples of one host than its burst: a distinct error naming host, count and burst."""
    rl, _ = limiter(rate=10, burst=20)
    with pytest.raises(BatchExceedsBurstError, match=r"21 samples of host 'a'.*burst of 20") as e:
        rl.take({"b": 1, "a": 21})
    assert (e.value.host_id, e.value.count, e.value.burst) == ("a", 21, 20)
    assert rl.take({"b": 20}) is None  # nothing was debited


def test_memory_is_bounded_by_evicting_the_least_recently_used_host() -> None:
    """Past max_hosts buckets the least recently used goes; it returns with a full bucket."""
    rl, _ = limiter(rate=1, burst=10, max_hosts=3)
    for host in ("a", "b", "c"):
        assert rl.take({host: 10}) is None
    assert rl.take({"a": 1}) is not None  # touches "a": "b" is now the least recent
    assert rl.take({"d": 1}) is None
    assert len(rl) == 3
    assert rl.take({"a": 1}) is not None  # "a" kept its (empty) bucket
    assert rl.take({"b": 10}) is None  # "b" was evicted and comes back full
    assert len(rl) == 3


def test_a_clock_going_backwards_does_not_mint_tokens() -> None:
    """A clock step back is treated as no time passing."""
    rl, clock = limiter(rate=10, burst=20)
    assert rl.take({"a": 20}) is None
    clock.advance(-100)
    assert rl.take({"a": 1}) is not None


@pytest.mark.parametrize(("rate", "burst", "max_hosts"), [(0, 10, 10), (1, 0.5, 10), (1, 10, 0)])
def test_nonsense_settings_are_refused(rate: float, burst: float, max_hosts: int) -> None:
    """A zero rate, a burst under one sample, or no room for hosts is a configuration error."""
    with pytest.raises(ValueError, match="must be"):
        HostRateLimiter(rate, burst, max_hosts=max_hosts)
