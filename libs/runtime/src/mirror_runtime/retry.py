"""Asking a busy peer again: for the start-up work a just-started cluster may time out."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

log = structlog.get_logger()

T = TypeVar("T")


async def until_answered(
    attempt: Callable[[], Awaitable[T]],
    *,
    seconds: float,
    transient: tuple[type[BaseException], ...],
    what: str,
    pause: float = 0.5,
) -> T:
    """`attempt()` again while it fails with one of `transient`, for up to `seconds`; past
    that, its last error."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await attempt()
        except transient as exc:
            if time.monotonic() > deadline:
                raise
            log.info("retry.busy", what=what, error=str(exc))
            await asyncio.sleep(pause)
