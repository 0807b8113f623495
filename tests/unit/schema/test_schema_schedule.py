"""The drift-free schedule of every periodic loop (agent and services)."""

import asyncio
import contextlib
import time

import pytest

from mirror_schema.schedule import Schedule, ticks


def test_ticks_stay_on_the_grid_whatever_the_work_took() -> None:
    """Tick n is due at start + n x interval, however long each collection took."""
    schedule = Schedule(5.0, start=100.0)
    assert schedule.next_delay(now=100.3) == pytest.approx(4.7)
    assert schedule.next_delay(now=105.9) == pytest.approx(4.1)


def test_missed_ticks_are_skipped_not_bunched() -> None:
    """After a stall of several intervals the next tick is the next one on the grid."""
    schedule = Schedule(5.0, start=0.0)
    assert schedule.next_delay(now=0.0) == 5.0
    delay = schedule.next_delay(now=23.0)  # ticks at 10, 15 and 20 were missed
    assert delay == pytest.approx(2.0)
    assert schedule.tick == 5


async def test_ticks_do_not_drift_when_the_work_takes_time() -> None:
    """Tick n comes at n x interval from the start although each run of the work takes most
    of an interval: sleeping after the work would put tick 5 at 5 x 0.32 s, not at 1 s."""
    interval, work = 0.2, 0.12
    started = time.monotonic()
    seen: list[tuple[int, float]] = []
    async with asyncio.timeout(5), contextlib.aclosing(ticks(interval)) as due:
        async for tick in due:
            seen.append((tick, time.monotonic() - started))
            if tick >= 5:
                break
            await asyncio.sleep(work)
    assert seen[-1][0] == 5
    for tick, at in seen:
        assert tick * interval <= at < tick * interval + 0.1, seen


async def test_ticks_missed_during_slow_work_are_skipped_not_bunched() -> None:
    """Work that overran two intervals is followed by the next tick on the grid, numbered as
    such, not by the missed ticks back to back."""
    interval = 0.1
    started = time.monotonic()
    seen: list[tuple[int, float]] = []
    async with asyncio.timeout(5), contextlib.aclosing(ticks(interval)) as due:
        async for tick in due:
            seen.append((tick, time.monotonic() - started))
            if len(seen) == 2:
                break
            await asyncio.sleep(2.5 * interval)
    (first, _), (second, second_at) = seen
    assert first == 1
    assert second >= 4  # 2 and 3 fell due during the work
    assert second_at >= second * interval


async def test_ticks_end_as_soon_as_stop_is_set() -> None:
    """A stop while waiting for a far tick ends the iteration at once, with no tick."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    async with asyncio.timeout(5):
        seen = [tick async for tick in ticks(60.0, stop)]
    assert seen == []
    assert time.monotonic() - started < 1.0


async def test_at_start_the_first_tick_comes_at_once() -> None:
    """With at_start, tick 0 comes before any wait (the agent collects as it starts)."""
    async with asyncio.timeout(1), contextlib.aclosing(ticks(60.0, at_start=True)) as due:
        assert await anext(due) == 0


async def test_a_stop_set_before_the_start_gives_no_tick() -> None:
    """Stopped already: not even the at_start tick."""
    stop = asyncio.Event()
    stop.set()
    async with asyncio.timeout(1):
        assert [tick async for tick in ticks(0.01, stop, at_start=True)] == []


def test_an_interval_of_zero_is_refused() -> None:
    """A zero interval would spin; it is refused naming the value."""
    with pytest.raises(ValueError, match="interval_seconds: must be above 0, got 0"):
        Schedule(0)
