"""Supervised parts: probed until healthy, restarted when they die, stopped as a group."""

import asyncio
import sys
from pathlib import Path

import psutil
import pytest

from mirror_stage.supervisor import PartFailedError, PartSpec, RestartPolicy, Supervised
from waiting import wait_until

# A part whose child process stands for a server's workers (as PostgreSQL's are).
SLEEPER = (
    "import signal, subprocess, sys;"
    "subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()']);"
    "signal.pause()"
)


def sleeper_spec(tmp_path: Path, *, healthy: bool = True) -> PartSpec:
    async def probe() -> bool:
        return healthy

    return PartSpec(
        name="sleeper",
        argv=[sys.executable, "-c", SLEEPER],
        log_path=tmp_path / "sleeper.log",
        probe=probe,
        address="nowhere",
        ready_timeout_seconds=2,
    )


async def test_a_killed_part_is_restarted_and_stop_leaves_no_process(tmp_path: Path) -> None:
    """SIGKILL of the part brings a new process; stop() ends the group, children included."""
    part = Supervised(sleeper_spec(tmp_path), RestartPolicy(first_delay_seconds=0.05))
    await part.start()
    watching = asyncio.create_task(part.watch())
    first = psutil.Process(part.pid)
    await wait_until(lambda: len(first.children()) == 1, timeout=10, what="the worker child")
    first_child = first.children()[0]
    first.kill()
    await wait_until(
        lambda: part.pid is not None and part.pid != first.pid, timeout=10, what="a restart"
    )
    await wait_until(
        lambda: not first_child.is_running(), timeout=10, what="the dead part's worker to go"
    )
    assert part.restarts == 1
    second = psutil.Process(part.pid)
    await wait_until(lambda: len(second.children()) == 1, timeout=10, what="the new worker")
    second_child = second.children()[0]
    await part.stop()
    await watching
    await wait_until(
        lambda: not any(p.is_running() for p in (second, second_child)),
        timeout=10,
        what="the part and its worker to exit",
    )


async def test_a_part_that_never_gets_healthy_fails_with_its_log(tmp_path: Path) -> None:
    """A failing probe ends start() with PartFailedError naming the part and its log."""
    part = Supervised(sleeper_spec(tmp_path, healthy=False))
    with pytest.raises(PartFailedError, match="sleeper was not healthy within 2 s"):
        await part.start()
    assert part.pid is None
