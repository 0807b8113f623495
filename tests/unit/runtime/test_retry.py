"""until_answered(): start-up work asked again while a just-started peer is busy."""

import asyncio
import time

import pytest

from mirror_runtime.retry import until_answered


async def test_transient_failures_are_tried_again_until_an_answer() -> None:
    """Two timeouts, then an answer: the answer is returned."""
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TimeoutError("busy")
        return "streams made"

    async with asyncio.timeout(5):
        answer = await until_answered(
            attempt, seconds=5, transient=(TimeoutError,), what="the streams", pause=0.01
        )
    assert (answer, calls) == ("streams made", 3)


async def test_past_the_deadline_the_last_error_is_raised() -> None:
    """A peer busy for longer than `seconds` ends with its last error, not a silent hang."""
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError(f"busy {calls}")

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"busy \d+") as raised:
        async with asyncio.timeout(5):
            await until_answered(
                attempt, seconds=0.1, transient=(TimeoutError,), what="a bucket", pause=0.02
            )
    assert str(raised.value) == f"busy {calls}"
    assert calls >= 2
    assert 0.1 <= time.monotonic() - started < 1.0


async def test_an_error_that_is_not_transient_is_raised_at_once() -> None:
    """Only the errors named transient are waited out; anything else is a real failure."""
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise PermissionError("no such right")

    with pytest.raises(PermissionError):
        async with asyncio.timeout(5):
            await until_answered(attempt, seconds=5, transient=(TimeoutError,), what="x")
    assert calls == 1
