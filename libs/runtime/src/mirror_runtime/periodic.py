"""every(): background work on a timer that outlives its failures."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from mirror_runtime.doors import TRANSIENT

__all__ = ["every"]

log = structlog.get_logger()


async def every(seconds: float, work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work`` every ``seconds`` until cancelled. A failure of the bus or the database is
    logged and tried again next time; a bug is logged with its traceback, and the loop goes on
    (one bad run must not end the work for good)."""
    name = getattr(work, "__name__", repr(work))
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except TRANSIENT as exc:
            log.warning("periodic.failed", work=name, error=str(exc))
        except Exception:
            log.exception("periodic.crashed", work=name)
