"""LiveSockets: every WebSocket a principal holds, bounded in number, closed when its credential
ends.

A socket is checked once, when it opens; what ends its credential afterwards must still reach
it. A logout or a password change made through this service closes the sockets at once; one
made anywhere else (another service, the command line: a user or token removed, a password
reset) is found by checking every live socket's credential again every recheck_seconds
(MIRROR_STAGE_SOCKET_RECHECK_SECONDS, 5 s), one request per credential whatever the number of
its sockets, never from a cache.
"""

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import prometheus_client
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mirror_runtime.auth import credentials
from mirror_runtime.auth.errors import UnauthorizedError
from mirror_runtime.doors import TRANSIENT, ApiError
from mirror_schema.auth_api import Principal
from mirror_schema.schedule import ticks

if TYPE_CHECKING:
    from mirror_runtime.auth.accounts import Authority

log = structlog.get_logger()

# Credentials checked at once by a round.
CONCURRENT_CHECKS: Final = 8
# The close code of a socket whose credential ended or that is one too many.
POLICY_VIOLATION: Final = 1008
ENDED: Final = "the session has ended: log in again"
# The accounts could not answer (the database or the bus is away): a socket stays meanwhile.
UNANSWERED: Final[tuple[type[BaseException], ...]] = (ApiError, *TRANSIENT)

CLOSED = prometheus_client.Counter(
    "mirror_auth_sockets_closed_total",
    "WebSockets closed by the server because their credential ended, or refused as one too many",
    ["reason"],
)


@dataclass(eq=False)
class _Socket:
    principal: Principal
    key: str  # the credential's kind and digest
    secret: str
    is_session: bool
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ENDED


def credential_key(*, session: str | None = None, token: str | None = None) -> str:
    """How the sockets of one credential are found: its kind and digest, never the secret."""
    if session is not None:
        return "s:" + credentials.digest(session)
    return "t:" + credentials.digest(token or "")


class LiveSockets:
    """The sockets open on this process, by principal and by credential."""

    def __init__(
        self, authority: "Authority", max_per_principal: int, recheck_seconds: float
    ) -> None:
        self.authority = authority
        self.max_per_principal = max_per_principal
        self.recheck_seconds = recheck_seconds
        self._sockets: set[_Socket] = set()
        self._checking: asyncio.Task[None] | None = None

    def count(self, principal: Principal) -> int:
        """How many sockets `principal` holds here."""
        return sum(1 for s in self._sockets if s.principal.actor == principal.actor)

    def close_credential(self, key: str, reason: str = ENDED) -> int:
        """Close every socket opened with the credential `key`; how many."""
        return self._end((s for s in self._sockets if s.key == key), reason)

    def close_user(self, name: str, reason: str = ENDED) -> int:
        """Close every socket of the user `name` (their sessions ended); how many."""
        return self.close_principal("user", name, reason)

    def close_principal(self, kind: str, name: str, reason: str = ENDED) -> int:
        """Close every socket of the user or token `name` (`kind`); how many."""
        return self._end(
            (s for s in self._sockets if s.principal.kind == kind and s.principal.name == name),
            reason,
        )

    def _end(self, sockets: Iterable[_Socket], reason: str) -> int:
        ended = 0
        for found in list(sockets):
            if not found.ended.is_set():
                found.reason = reason
                found.ended.set()
                ended += 1
                CLOSED.labels("ended").inc()
                log.info("auth.socket_closed", principal=found.principal.actor, reason=reason)
        return ended

    async def serve(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        principal: Principal,
        *,
        session: str | None,
        token: str | None,
    ) -> None:
        """Run the socket's app, unless `principal` already holds as many as allowed; close it
        (1008, saying why) when its credential ends."""
        if self.count(principal) >= self.max_per_principal:
            CLOSED.labels("too_many").inc()
            log.warning("auth.socket_refused", principal=principal.actor)
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.close",
                    "code": POLICY_VIOLATION,
                    "reason": f"{principal.actor[:40]} has {self.max_per_principal} live sockets,"
                    " the most allowed: close one first",
                }
            )
            return
        socket = _Socket(
            principal=principal,
            key=credential_key(session=session, token=token),
            secret=session if session is not None else token or "",
            is_session=session is not None,
        )
        closed = False

        async def receiving() -> Message:
            nonlocal closed
            if socket.ended.is_set() and not closed:
                return await _close(socket.reason)
            getting = asyncio.ensure_future(receive())
            ending = asyncio.ensure_future(socket.ended.wait())
            try:
                await asyncio.wait({getting, ending}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ending.cancel()
            if getting.done():
                return getting.result()
            getting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getting
            return await _close(socket.reason)

        async def _close(reason: str) -> Message:
            nonlocal closed
            closed = True
            with contextlib.suppress(Exception):  # the client may have gone meanwhile
                await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": reason})
            return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}

        async def sending(message: Message) -> None:
            nonlocal closed
            if closed:
                return  # closed by us: what the app still sends goes nowhere
            if message["type"] == "websocket.close":
                closed = True
            await send(message)

        self._sockets.add(socket)
        self._start_checking()
        try:
            await app(scope, receiving, sending)
        finally:
            self._sockets.discard(socket)

    def _start_checking(self) -> None:
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check_forever())

    async def _check_forever(self) -> None:
        async for _ in ticks(self.recheck_seconds):
            if not self._sockets:
                return
            try:
                await self.check()
            except Exception:
                log.exception("auth.socket_check_failed")

    async def check(self) -> None:
        """Ask again, once per credential, whether each live socket's credential holds."""
        by_key: dict[str, _Socket] = {}
        for socket in self._sockets:
            if not socket.ended.is_set():
                by_key.setdefault(socket.key, socket)
        limit = asyncio.Semaphore(CONCURRENT_CHECKS)

        async def check_one(socket: _Socket) -> None:
            async with limit:
                try:
                    if socket.is_session:
                        found = await self.authority.authenticate(session=socket.secret, fresh=True)
                    else:
                        found = await self.authority.authenticate(token=socket.secret, fresh=True)
                except UnauthorizedError as exc:
                    self.close_credential(socket.key, exc.detail[:120])
                    return
                except UNANSWERED as exc:
                    # The accounts cannot answer now: the sockets stay, as HTTP requests
                    # confirmed lately do (mirror_runtime.auth.remote).
                    log.info("auth.socket_check_unavailable", error=str(exc))
                    return
                if found.password_change_required:
                    self.close_credential(socket.key, "a password change is required")

        await asyncio.gather(*(check_one(s) for s in by_key.values()))
