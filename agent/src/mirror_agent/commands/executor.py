"""Executor: one command as its own process group, captured, timed out, and stopped as a whole.

The process starts in a new session (its pid is its process group id), with stdin from
/dev/null and the sandbox's environment. A timeout or a stop sends SIGTERM to the whole
group, then SIGKILL `kill_grace` seconds later. Once the command has ended, whatever is left
of its group is killed too: nothing a command starts outlives it.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mirror_agent.commands.output import Capture, Stream
from mirror_agent.commands.reaper import Reaper
from mirror_agent.commands.sandbox import Sandbox
from mirror_schema.commands import CommandState

READ_SIZE = 64 * 1024
# Receives captured bytes as they arrive (LiveOutput.feed fits).
OutputSink = Callable[[Stream, bytes], None]


class SpawnError(Exception):
    """The process could not be started (no such program, permission denied...)."""


@dataclass(frozen=True)
class Outcome:
    """How a command ended: a final state and what it printed."""

    state: CommandState
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    started_at: datetime
    finished_at: datetime
    error: str | None = None


class Execution:
    """One command's process group: `start`, then `wait`; `stop` ends it early."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        sandbox: Sandbox,
        timeout_seconds: float,
        output_limit_bytes: int,
        kill_grace_seconds: float = 2.0,
        on_output: OutputSink | None = None,
        reaper: Reaper | None = None,
    ) -> None:
        self.argv = list(argv)
        self.reaper = reaper  # kills the command's group if the agent dies first
        self.sandbox = sandbox
        self.timeout = timeout_seconds
        self.kill_grace = kill_grace_seconds
        self.on_output = on_output
        self.captures: dict[Stream, Capture] = {
            "stdout": Capture(output_limit_bytes),
            "stderr": Capture(output_limit_bytes),
        }
        self.started_at = datetime.now(UTC)
        self._started = 0.0  # time.monotonic() at spawn: the timeout runs from there
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._stop_state = CommandState.CANCELLED
        self._stop_reason: str | None = None
        self._ended = False

    @property
    def pid(self) -> int | None:
        """The process's pid (and process group id) once started."""
        return self._process.pid if self._process else None

    async def start(self) -> int:
        """Spawn the process; return its pid. Raises SpawnError when it cannot start."""
        sandbox = self.sandbox
        self.started_at = datetime.now(UTC)
        self._started = time.monotonic()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=sandbox.env,
                cwd=sandbox.cwd,
                start_new_session=True,
                user=sandbox.uid,
                group=sandbox.gid,
                extra_groups=sandbox.groups if sandbox.uid is not None else None,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SpawnError(f"cannot start {self.argv[0]!r}: {detail}") from None
        self._process = process
        if self.reaper is not None:
            self.reaper.watch(process.pid)
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read("stdout", process.stdout)),
            asyncio.create_task(self._read("stderr", process.stderr)),
        ]
        return process.pid

    def stop(self, state: CommandState, reason: str) -> None:
        """End the command early: its result will be `state` with `reason` as the error."""
        if not self._stop.is_set():
            self._stop_state, self._stop_reason = state, reason
            self._stop.set()

    async def wait(self) -> Outcome:
        """Wait for the end (exit, timeout or stop) and return the outcome."""
        process = self._process
        assert process is not None, "start() first"
        exited = asyncio.create_task(process.wait())
        stopped = asyncio.create_task(self._stop.wait())
        try:
            remaining = max(self.timeout - (time.monotonic() - self._started), 0.0)
            await asyncio.wait(
                {exited, stopped}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopped.cancel()
        state: CommandState
        error: str | None = None
        if exited.done():
            state = CommandState.SUCCEEDED if process.returncode == 0 else CommandState.FAILED
        elif self._stop.is_set():
            state, error = self._stop_state, self._stop_reason
            await self._kill_group(exited)
        else:
            state, error = CommandState.TIMED_OUT, f"no exit within {self.timeout:g} s"
            await self._kill_group(exited)
        await exited
        # The pipes close when the last process holding them ends; a leftover child that
        # keeps them open gets the grace period, then the rest of the group is killed.
        _, unfinished = await asyncio.wait(self._readers, timeout=self.kill_grace)
        _signal_group(process.pid, signal.SIGKILL)
        self._ended = True
        if self.reaper is not None:
            self.reaper.release(process.pid)
        if unfinished:
            await asyncio.gather(*unfinished)
        finished_at = datetime.now(UTC)
        code = process.returncode
        exit_code = code if code is not None and code >= 0 else None
        if error is None and code is not None and code < 0:
            error = f"killed by signal {_signal_name(-code)}"
        return Outcome(
            state=state,
            exit_code=exit_code,
            stdout=self.captures["stdout"].text(),
            stderr=self.captures["stderr"].text(),
            stdout_truncated=self.captures["stdout"].truncated,
            stderr_truncated=self.captures["stderr"].truncated,
            started_at=self.started_at,
            finished_at=finished_at,
            error=error,
        )

    def kill(self) -> None:
        """SIGKILL the whole group now, unless `wait` already saw it end (for a caller that
        is being cancelled and cannot wait)."""
        if self._process is not None and not self._ended:
            _signal_group(self._process.pid, signal.SIGKILL)
            if self.reaper is not None:
                self.reaper.release(self._process.pid)

    async def _kill_group(self, exited: "asyncio.Task[int]") -> None:
        assert self._process is not None
        _signal_group(self._process.pid, signal.SIGTERM)
        await asyncio.wait({exited}, timeout=self.kill_grace)
        _signal_group(self._process.pid, signal.SIGKILL)

    async def _read(self, name: Stream, pipe: asyncio.StreamReader) -> None:
        capture = self.captures[name]
        while chunk := await pipe.read(READ_SIZE):
            kept = capture.add(chunk)
            if kept and self.on_output is not None:
                self.on_output(name, kept)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
