"""The agent's drift-free schedule."""

import pytest

from mirror_agent.schedule import Schedule


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
