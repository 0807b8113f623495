"""wait_until(): poll a condition with a deadline, instead of sleeping a fixed time."""

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float,  # noqa: ASYNC109 - the deadline is the point of this helper
    what: str,
    interval: float = 0.1,
) -> None:
    """Return as soon as `condition()` is true; fail naming `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = condition()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None
