"""A logged-in client of one twin replica's /ws/twin, as the HUD is: it follows frames and
diffs, asks for a frame after a gap in seq, and connects again when its replica dies. It keeps
each host's latest `last_seen` and every time a message took a host back to an older one."""

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import websockets

RECONNECTS = 400  # 0.25 s apart: outlives a replica's restart several times over


class _Host(msgspec.Struct):
    host_id: str
    last_seen: datetime | None = None


class _Message(msgspec.Struct):
    type: str = ""
    seq: int = -1
    base_seq: int = -1
    hosts: list[_Host] = []


_decode = msgspec.json.Decoder(_Message).decode


@dataclass(eq=False)
class TwinWatch:
    """One socket on `url` (ws://.../ws/twin) with the session `cookie`, from `origin`."""

    url: str
    cookie: str
    origin: str
    seen: dict[str, datetime] = field(default_factory=dict)
    regressions: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    connections: int = 0
    frames: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def alive(self) -> bool:
        """False once the client gave up (RECONNECTS spent) or failed."""
        return self._task is not None and not self._task.done()

    def _take(self, host: _Host) -> None:
        if host.last_seen is None:
            return
        held = self.seen.get(host.host_id)
        if held is not None and host.last_seen < held:
            self.regressions.append((host.host_id, held, host.last_seen))
        if held is None or host.last_seen > held:
            self.seen[host.host_id] = host.last_seen

    async def _follow(self) -> None:
        headers: dict[str, Any] = {"Cookie": self.cookie, "Origin": self.origin}
        for _ in range(RECONNECTS):
            try:
                async with websockets.connect(
                    self.url, additional_headers=headers, max_size=None, close_timeout=2
                ) as socket:
                    self.connections += 1
                    await self._receive(socket)
            except (OSError, websockets.WebSocketException):
                pass
            await asyncio.sleep(0.25)

    async def _receive(self, socket: websockets.ClientConnection) -> None:
        seq = -1
        while True:
            message = _decode(await socket.recv(decode=False))
            if message.type == "frame":
                self.frames += 1
                seq = message.seq
            elif message.type != "diff" or seq < 0:
                continue
            elif message.base_seq != seq:
                seq = -1  # a gap: nothing applies until the frame asked for
                await socket.send("frame")
                continue
            else:
                seq = message.seq
            for host in message.hosts:
                self._take(host)
