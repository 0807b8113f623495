"""Where a restarted twin picks up the METRICS stream."""

import pytest

from mirror_twin.checkpoint import resume_from


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
