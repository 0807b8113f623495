"""every(): background work on a drift-free timer that outlives its failures."""

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from mirror_runtime.periodic import every


async def test_work_runs_each_interval_until_stop() -> None:
    """The work runs once per interval, not before the first one, and no more after stop."""
    stop = asyncio.Event()
    started = time.monotonic()
    ran_at: list[float] = []

    async def work() -> None:
        ran_at.append(time.monotonic() - started)
        if len(ran_at) == 3:
            stop.set()

    async with asyncio.timeout(5):
        await every(0.05, work, stop)
    assert len(ran_at) == 3
    assert ran_at[0] >= 0.05


async def fail_once_then_stop(error: Exception) -> tuple[int, list[dict[str, object]]]:
    """Run `every` over work that raises `error` on its first run and stops on its second;
    how many runs there were, and what was logged."""
    stop = asyncio.Event()
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise error
        stop.set()

    with capture_logs() as logs:
        async with asyncio.timeout(5):
            await every(0.02, work, stop)
    return runs, logs


async def test_a_transient_failure_is_logged_and_the_work_goes_on() -> None:
    """A failure of the bus or the database is a warning; the next interval tries again."""
    runs, logs = await fail_once_then_stop(ConnectionRefusedError("PostgreSQL is away"))
    assert runs == 2
    assert logs == [
        {
            "event": "periodic.failed",
            "log_level": "warning",
            "work": "work",
            "error": "PostgreSQL is away",
        }
    ]


async def test_a_bug_is_logged_with_its_traceback_and_the_work_goes_on() -> None:
    """A bug in one run must not end the work for good."""
    runs, logs = await fail_once_then_stop(KeyError("missing"))
    assert runs == 2
    assert logs == [
        {"event": "periodic.crashed", "log_level": "error", "work": "work", "exc_info": True}
    ]


async def test_the_caller_names_what_is_transient() -> None:
    """With its own `transient`, a service's expected failure is a warning, not a crash."""
    stop = asyncio.Event()

    async def refused() -> None:
        stop.set()
        raise LookupError("not there yet")

    with capture_logs() as logs:
        async with asyncio.timeout(5):
            await every(0.02, refused, stop, transient=(LookupError,))
    assert [entry["event"] for entry in logs] == ["periodic.failed"]


async def test_cancelling_the_task_ends_the_work() -> None:
    """Without a stop event the work runs until its task is cancelled."""
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    task = asyncio.create_task(every(0.01, work))
    async with asyncio.timeout(5):
        await ran.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
