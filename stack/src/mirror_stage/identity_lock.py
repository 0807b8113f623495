"""One writer at a time in an identities directory: `agent enroll`, `revoke`, join tokens and
the enroller all read, change and write its files, from separate processes."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = ["IdentityLockTimeoutError", "identity_lock", "take_lock"]

LOCK_FILE: Final = "identities.lock"
WAIT_SECONDS: Final = 60.0  # a whole fleet's enrollment, reload included, takes seconds


class IdentityLockTimeoutError(RuntimeError):
    """Another process held the identities directory for too long."""


def take_lock(fd: int, wait_seconds: float, poll_seconds: float = 0.05) -> bool:
    """Take the exclusive lock of the open file `fd`, waiting at most `wait_seconds` for
    another holder to let go; whether it was taken."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_seconds)


@contextmanager
def identity_lock(directory: Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold `directory`'s lock (waiting at most `wait_seconds` for it) while the block runs."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not take_lock(fd, wait_seconds):
            raise IdentityLockTimeoutError(
                f"{directory / LOCK_FILE} stayed locked for {wait_seconds:g} s: another "
                "`mirror-stage agent` command or the enroller is still at work"
            )
        yield
    finally:
        os.close(fd)  # closing releases the lock
