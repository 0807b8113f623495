"""Child processes that die with their parent and are stopped as a whole process group."""

import asyncio
import contextlib
import ctypes
import os
import signal
from collections.abc import Mapping
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec (after any change of user): if the launcher
    # is killed with SIGKILL, the kernel sends this child SIGTERM instead of orphaning it.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def spawn(
    argv: list[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    user: int | None = None,
    group: int | None = None,
    cwd: Path | None = None,
) -> asyncio.subprocess.Process:
    """Start `argv` in its own session with stdout and stderr appended to `log_path`, which
    is its owner's alone (mode 0600, an older file narrowed): a log may hold what a part was
    told or sent (addresses, names, command output)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 (never readable by others, even before its first line), whatever the umask.
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "ab") as log_file:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def signal_group(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `process`, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


async def stop_process(
    process: asyncio.subprocess.Process,
    *,
    stop_signal: signal.Signals = signal.SIGTERM,
    grace_seconds: float = 10.0,
) -> int:
    """Ask the process group to stop, kill it after `grace_seconds`, and return the exit code."""
    if process.returncode is None:
        signal_group(process, stop_signal)
        try:
            async with asyncio.timeout(grace_seconds):
                await process.wait()
        except TimeoutError:
            signal_group(process, signal.SIGKILL)
            await process.wait()
    # Whatever the leader left behind in its group goes with it.
    signal_group(process, signal.SIGKILL)
    assert process.returncode is not None
    return process.returncode


def tail(path: Path, max_bytes: int = 2000) -> str:
    """The last `max_bytes` of a log file, for error messages."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - max_bytes))
            return file.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
