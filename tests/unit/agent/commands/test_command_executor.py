"""The executor with real processes: exit codes, timeouts that kill the whole group, caps."""

import asyncio
import itertools
import os
import pwd

import psutil
import pytest

from mirror_agent.commands.executor import Execution, Outcome, SpawnError
from mirror_agent.commands.output import LiveOutput, Stream
from mirror_agent.commands.sandbox import SAFE_PATH, sandbox_for
from mirror_agent.commands.settings import run_as_error
from mirror_schema.commands import CommandState
from waiting import wait_until

SANDBOX = sandbox_for(None)


async def run(
    *argv: str, within: float = 10, limit: int = 65536, grace: float = 1.0
) -> tuple[Outcome, int]:
    execution = Execution(
        argv,
        sandbox=SANDBOX,
        timeout_seconds=within,
        output_limit_bytes=limit,
        kill_grace_seconds=grace,
    )
    pid = await execution.start()
    async with asyncio.timeout(within + 3 * grace + 5):
        return await execution.wait(), pid


async def group_gone(pgid: int) -> None:
    """Wait (5 s at most) until no live process is left in group `pgid`: a SIGKILLed
    process takes a moment to finish dying after its pipes close."""
    await wait_until(lambda: group_alive(pgid) == [], timeout=5, what=f"group {pgid} to end")


def group_alive(pgid: int) -> list[psutil.Process]:
    """Live (not zombie) processes of process group `pgid`."""
    alive = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


async def test_echo_succeeds_with_its_stdout() -> None:
    """`echo hi` exits 0: succeeded, with "hi\\n", its exit code and both timestamps."""
    outcome, _ = await run("echo", "hi")
    assert outcome.state == CommandState.SUCCEEDED
    assert outcome.exit_code == 0
    assert outcome.stdout == "hi\n"
    assert outcome.stderr == ""
    assert outcome.started_at <= outcome.finished_at


async def test_a_non_zero_exit_is_failed_with_the_code_and_stderr() -> None:
    """exit 3 is `failed` with exit code 3; stderr is captured apart from stdout."""
    outcome, _ = await run("sh", "-c", "echo out; echo err >&2; exit 3")
    assert outcome.state == CommandState.FAILED
    assert outcome.exit_code == 3
    assert (outcome.stdout, outcome.stderr) == ("out\n", "err\n")


async def test_a_timeout_kills_the_whole_process_group() -> None:
    """`sleep 10` with a 1 s timeout is timed_out, and nothing of its group is left, not
    even a child it started in the background."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    outcome, pgid = await run("sh", "-c", "sleep 10 & sleep 10", within=1, grace=0.5)
    assert outcome.state == CommandState.TIMED_OUT
    assert outcome.exit_code is None
    assert loop.time() - began < 5
    await group_gone(pgid)


async def test_a_command_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    """SIGTERM trapped: SIGKILL follows kill_grace later."""
    outcome, pgid = await run("sh", "-c", "trap '' TERM; sleep 10", within=0.5, grace=0.5)
    assert outcome.state == CommandState.TIMED_OUT
    await group_gone(pgid)


async def test_output_past_the_limit_is_cut_and_flagged() -> None:
    """Each stream keeps output_limit_bytes and says it was truncated; the other stream is
    untouched."""
    outcome, _ = await run("sh", "-c", "yes | head -c 100000; echo short >&2", limit=1000)
    assert len(outcome.stdout) == 1000
    assert outcome.stdout_truncated is True
    assert outcome.stderr == "short\n"
    assert outcome.stderr_truncated is False


async def test_stop_ends_the_command_with_the_given_state() -> None:
    """A stop (cancel) kills the group; the outcome carries the state and the reason."""
    execution = Execution(
        ["sleep", "30"], sandbox=SANDBOX, timeout_seconds=30, output_limit_bytes=100
    )
    pgid = await execution.start()
    waiting = asyncio.create_task(execution.wait())
    execution.stop(CommandState.CANCELLED, "cancelled by test")
    async with asyncio.timeout(10):
        outcome = await waiting
    assert outcome.state == CommandState.CANCELLED
    assert outcome.error == "cancelled by test"
    await group_gone(pgid)


async def test_the_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only PATH (fixed), LANG and HOME reach the command; nothing of the agent's own."""
    monkeypatch.setenv("MIRROR_SECRET_FOR_TEST", "leak")
    outcome, _ = await run("env")
    names = dict(line.split("=", 1) for line in outcome.stdout.splitlines())
    assert set(names) == {"PATH", "LANG", "HOME"}
    assert names["PATH"] == SAFE_PATH


async def test_a_missing_program_cannot_start() -> None:
    """A program that is not on the fixed PATH is a SpawnError naming it."""
    execution = Execution(
        ["no-such-program-here"], sandbox=SANDBOX, timeout_seconds=5, output_limit_bytes=10
    )
    with pytest.raises(SpawnError, match="no-such-program-here"):
        await execution.start()


async def test_live_output_is_sent_in_rate_limited_chunks() -> None:
    """Live chunks carry all captured text in order, at most one per stream per interval."""
    sent: list[tuple[float, Stream, str]] = []
    loop = asyncio.get_running_loop()

    async def send(stream: Stream, text: str) -> None:
        sent.append((loop.time(), stream, text))

    live = LiveOutput(send, interval=0.1)
    execution = Execution(
        ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; sleep 0.02; done"],
        sandbox=SANDBOX,
        timeout_seconds=10,
        output_limit_bytes=65536,
        on_output=live.feed,
    )
    await execution.start()
    sending = asyncio.create_task(live.run())
    outcome = await execution.wait()
    sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)
    await live.finish()
    assert "".join(text for _, _, text in sent) == outcome.stdout
    stdout_times = [at for at, stream, _ in sent if stream == "stdout"]
    assert len(stdout_times) < 10  # batched, not one per line
    gaps = [b - a for a, b in itertools.pairwise(stdout_times)][:-1]
    assert all(gap >= 0.09 for gap in gaps), gaps


async def test_run_as_runs_the_command_as_that_user() -> None:
    """As root, run_as = "nobody" runs the command with nobody's uid, gid and HOME; an agent
    that is not root refuses that setting at start-up instead."""
    if os.geteuid() != 0:
        error = run_as_error("nobody")
        assert error is not None
        assert "needs the agent to run as root" in error
        return
    execution = Execution(
        ["id", "-u"], sandbox=sandbox_for("nobody"), timeout_seconds=10, output_limit_bytes=100
    )
    await execution.start()
    outcome = await execution.wait()
    assert outcome.state == CommandState.SUCCEEDED, outcome.stderr
    assert outcome.stdout.strip() == str(pwd.getpwnam("nobody").pw_uid)
