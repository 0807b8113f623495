"""every(): background work on a drift-free timer that outlives its failures."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from mirror_runtime.doors import TRANSIENT
from mirror_schema.schedule import ticks

__all__ = ["every"]

log = structlog.get_logger()


async def every(
    seconds: float,
    work: Callable[[], Awaitable[object]],
    stop: asyncio.Event | None = None,
    *,
    transient: tuple[type[BaseException], ...] = TRANSIENT,
) -> None:
    """Run ``work`` every ``seconds`` (on mirror_schema.schedule's grid, first after one
    interval) until ``stop`` is set or the task is cancelled. A ``transient`` failure (of
    the bus or the database) is logged and tried again next time; a bug is logged with its
    traceback, and the loop goes on (one bad run must not end the work for good)."""
    name = getattr(work, "__name__", repr(work))
    async for _ in ticks(seconds, stop):
        try:
            await work()
        except transient as exc:
            log.warning("periodic.failed", work=name, error=str(exc))
        except Exception:
            log.exception("periodic.crashed", work=name)
