"""Leadership: which replica evaluates, held as a PostgreSQL advisory lock on its own connection.

Evaluation needs every sample of a host in one place (a ``for`` timer spans samples), so one
replica evaluates at a time and the others stand by, answering the API. The lock is released
by PostgreSQL when its holder's connection ends, so a replica that dies (even by kill -9)
hands over as soon as the server notices; a standby asks again every second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Final

import asyncpg
import structlog

from mirror_runtime.migrations import LOCK_CLASS
from mirror_schema.schedule import ticks

__all__ = ["EVALUATOR_LOCK", "Leadership"]

log = structlog.get_logger()

EVALUATOR_LOCK: Final = 7  # the objid under LOCK_CLASS; the migrations hold 1
CONNECT_TIMEOUT_SECONDS: Final = 5.0
CHECK_TIMEOUT_SECONDS: Final = 3.0

Lead = Callable[[asyncpg.Connection], Coroutine[Any, Any, None]]


class LostLeadership(Exception):  # noqa: N818 - an event, not a bug
    """The lock's connection failed: another replica may lead now."""


class Leadership:
    """Runs ``lead(connection)`` while this replica holds the evaluator lock."""

    def __init__(
        self,
        dsn: str,
        *,
        retry_seconds: float = 1.0,
        check_seconds: float = 1.0,
        lock: tuple[int, int] = (LOCK_CLASS, EVALUATOR_LOCK),
    ) -> None:
        self.dsn = dsn
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.lock = lock
        self.leading = False

    async def run(self, lead: Lead) -> None:
        """Forever (until cancelled): wait for the lock, then lead until it is lost."""
        while True:
            try:
                await self._hold_and_lead(lead)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("leader.unavailable", error=str(exc))
            except LostLeadership as exc:
                log.error("leader.lost", error=str(exc))
            except Exception:
                # The loop's edge: a bug in one term of leadership must not end the service's
                # evaluation for good; the next term starts from the saved snapshot.
                log.exception("leader.crashed")
            await asyncio.sleep(self.retry_seconds)

    async def _hold_and_lead(self, lead: Lead) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            await self._acquire(conn)
            self.leading = True
            log.info("leader.elected")
            leading = asyncio.create_task(lead(conn), name="alerts-lead")
            watching = asyncio.create_task(self._watch(conn), name="alerts-lease")
            try:
                await asyncio.wait({leading, watching}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (leading, watching):
                    task.cancel()
                results = await asyncio.gather(leading, watching, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    raise result
        finally:
            self.leading = False
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT_SECONDS)
            conn.terminate()

    async def _acquire(self, conn: asyncpg.Connection) -> None:
        # Polled: PostgreSQL does not tell a waiter that a lock was freed without blocking the
        # connection in pg_advisory_lock, and the connection must stay usable for the checks.
        while True:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *self.lock):
                return
            await asyncio.sleep(self.retry_seconds)

    async def _watch(self, conn: asyncpg.Connection) -> None:
        # The lock lives as long as the connection: check it, so that a dead link to the
        # server ends this replica's evaluation (another may have taken over).
        async for _ in ticks(self.check_seconds):
            try:
                await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise LostLeadership(f"the lock's connection failed: {exc}") from exc
