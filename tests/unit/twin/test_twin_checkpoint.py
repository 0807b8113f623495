"""Where a restarted twin picks up the METRICS stream, and when a position replaces another."""

from datetime import UTC, datetime

import pytest

from mirror_twin.checkpoint import (
    MIN_SLICE,
    CheckpointRound,
    StreamPosition,
    moves_forward,
    resume_from,
)


@pytest.mark.parametrize(
    ("saved", "first", "last", "max_replay", "expected"),
    [
        pytest.param(None, 1, 500, 1000, None, id="nothing saved: every host's latest"),
        pytest.param(400, 1, 500, 1000, 401, id="resume just after the saved sample"),
        pytest.param(500, 1, 500, 1000, 501, id="nothing new: wait for the next"),
        pytest.param(100, 300, 500, 1000, 300, id="the saved one aged out: from the oldest"),
        pytest.param(400, 1, 500, 100, 401, id="a backlog of exactly max_replay is replayed"),
        pytest.param(399, 1, 500, 100, None, id="a longer backlog is skipped"),
        pytest.param(900, 1, 500, 1000, None, id="saved past the end: the stream was recreated"),
        pytest.param(0, 0, 0, 1000, 1, id="an empty stream"),
    ],
)
def test_resume_from(
    saved: int | None, first: int, last: int, max_replay: int, expected: int | None
) -> None:
    assert resume_from(saved, first, last, max_replay) == expected


def test_a_round_is_spread_over_its_ticks_and_ends_empty() -> None:
    """A round writes its hosts in slices over the ticks it is given, never fewer than the
    minimum per tick, and ``rest`` takes whatever is left at once."""
    round_ = CheckpointRound([f"h{i}" for i in range(1000)], stream_seq=7, ticks=10)
    slices = [round_.next_slice() for _ in range(10)]
    assert [len(s) for s in slices] == [100] * 10
    assert [host for s in slices for host in s] == [f"h{i}" for i in range(1000)]
    assert round_.next_slice() == []

    small = CheckpointRound([f"h{i}" for i in range(120)], stream_seq=7, ticks=150)
    assert len(small.next_slice()) == MIN_SLICE
    assert len(small.rest()) == 120 - MIN_SLICE
    assert small.pending == []


T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def _position(seq: int, created: datetime | None) -> StreamPosition:
    return StreamPosition(stream_seq=seq, saved_at=T1, stream_created=created)


@pytest.mark.parametrize(
    ("position", "saved", "expected"),
    [
        pytest.param(_position(61, T0), _position(60, T0), True, id="further: forward"),
        pytest.param(_position(60, T0), _position(60, T0), False, id="the same: kept"),
        pytest.param(_position(40, T0), _position(60, T0), False, id="behind: never back"),
        pytest.param(_position(5, T1), _position(60, T0), True, id="METRICS made anew"),
        pytest.param(_position(40, T0), _position(60, None), False, id="saved before kept"),
        pytest.param(_position(61, T0), _position(60, None), True, id="ahead of an old save"),
    ],
)
def test_the_position_only_moves_forward(
    position: StreamPosition, saved: StreamPosition, expected: bool
) -> None:
    assert moves_forward(position, saved) is expected
