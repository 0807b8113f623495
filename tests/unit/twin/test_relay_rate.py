"""The relay's per-host rate for live output: a burst, then a steady rate, each host its own,
and memory bounded however many hosts speak."""

from mirror_twin.relay import HostRate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_host_gets_its_burst_then_its_rate_and_others_are_untouched() -> None:
    clock = Clock()
    rate = HostRate(10.0, 5.0, clock=clock)
    assert [rate.allow("a") for _ in range(7)] == [True] * 5 + [False] * 2
    assert rate.allow("b")  # another host has its own bucket
    clock.now = 0.5  # 5 tokens back, never more than the burst
    assert [rate.allow("a") for _ in range(6)] == [True] * 5 + [False]
    clock.now = 10.0
    assert not rate.allow("a", cost=6.0)  # bigger than the burst: never
    assert rate.allow("a", cost=5.0)


def test_buckets_are_bounded() -> None:
    clock = Clock()
    rate = HostRate(1.0, 1.0, max_hosts=100, clock=clock)
    for number in range(10_000):
        rate.allow(f"host-{number}")
    assert len(rate) == 100
