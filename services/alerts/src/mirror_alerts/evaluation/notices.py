"""ChangeNotices: what other replicas changed (rules, silences, acknowledgements), by LISTEN on
a PostgreSQL connection of the leader's own, kept through database outages.

A notice sent while the connection was down is lost, so each (re)connection counts as a
notice of everything: ``on_connected`` runs once the channels are listened to, and the
engine then reads the rules, silences and acknowledgements again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final

import asyncpg
import structlog

from mirror_schema.backoff import Backoff
from mirror_schema.schedule import ticks

__all__ = ["ChangeNotices", "Listener"]

log = structlog.get_logger()

CONNECT_TIMEOUT_SECONDS: Final = 5.0
CHECK_SECONDS: Final = 1.0
CHECK_TIMEOUT_SECONDS: Final = 3.0
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 5.0
DOWN: Final = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Listener = Callable[[Any, int, str, object], None]


class ChangeNotices:
    """Listens on ``listeners``' channels until cancelled, reconnecting after each failure."""

    def __init__(
        self, dsn: str, listeners: Mapping[str, Listener], on_connected: Callable[[], None]
    ) -> None:
        self.dsn = dsn
        self.listeners = listeners
        self.on_connected = on_connected
        self.connected = asyncio.Event()

    async def run(self) -> None:
        backoff = Backoff(first=RETRY_FIRST_SECONDS, cap=RETRY_MAX_SECONDS)
        while True:
            try:
                await self._listen(backoff)
            except DOWN as exc:
                log.warning("notices.disconnected", error=str(exc))
            except Exception:
                # The loop's edge: a connection that fails in a way asyncpg does not class as
                # a connection error (seen: "another operation is in progress" as the server
                # shut down) is dropped and made anew; it must not end the leader's term.
                log.exception("notices.connection_failed")
            finally:
                self.connected.clear()
            await asyncio.sleep(backoff.next())

    async def _listen(self, backoff: Backoff) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            for channel, listener in self.listeners.items():
                await conn.add_listener(channel, listener)
            backoff.reset()
            self.connected.set()
            self.on_connected()
            # A connection that died quietly tells nothing: ask it something now and then.
            async for _ in ticks(CHECK_SECONDS):
                await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)
        finally:
            conn.terminate()
