"""The commands' reaper: a small process beside the agent that kills the commands' process
groups when the agent dies, however it dies.

A command runs in a process group of its own (its own session), so it outlives an agent
killed with SIGKILL, or crashed, outside systemd (whose cgroup would take it along): nothing
of the agent runs then to stop it. The reaper is started with the command loop, in a session
of its own (a signal to the agent's group does not reach it), and reads the agent's pipe: a
line ``+<pgid>`` when a command starts, ``-<pgid>`` when it has ended. When the pipe closes,
the agent is gone: the reaper SIGKILLs every group still listed and exits.

    python -m mirror_agent.commands.reaper
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from typing import IO

__all__ = ["Reaper", "main"]

log = logging.getLogger(__name__)


class Reaper:
    """The agent's end: tells the reaper process which process groups to watch."""

    def __init__(self, process: subprocess.Popen[bytes] | None) -> None:
        self._process = process
        self._pipe: IO[bytes] | None = process.stdin if process else None

    @classmethod
    def start(cls) -> Reaper:
        """Start the reaper; a Reaper that watches nothing (logged) if it cannot start."""
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "mirror_agent.commands.reaper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            log.warning("reaper.unavailable error=%s (commands outlive a killed agent)", exc)
            return cls(None)
        return cls(process)

    def watch(self, pgid: int) -> None:
        """A command's group started: killed if the agent dies before it ends."""
        self._send(f"+{pgid}\n")

    def release(self, pgid: int) -> None:
        """A command's group has ended (its id may be reused now)."""
        self._send(f"-{pgid}\n")

    def close(self) -> None:
        """The command loop ended: the reaper kills what is still listed (nothing, after a
        clean stop) and exits."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)

    def _send(self, line: str) -> None:
        if self._pipe is None:
            return
        try:
            self._pipe.write(line.encode())
            self._pipe.flush()
        except OSError as exc:  # the reaper died: commands go on, unguarded
            log.warning("reaper.lost error=%s (commands outlive a killed agent)", exc)
            self._pipe = None


def main() -> None:
    """Watch the groups the agent lists until its pipe closes; then kill what is left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for the agent, which then closes
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        text = line.strip().decode(errors="replace")
        if len(text) > 1 and text[1:].isdigit() and text[0] in "+-":
            pgid = int(text[1:])
            if pgid <= 1:
                continue  # never the whole system, never init
            if text[0] == "+":
                groups.add(pgid)
            else:
                groups.discard(pgid)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    main()
