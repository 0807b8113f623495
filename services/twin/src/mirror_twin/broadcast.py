"""Broadcaster: a bounded queue per WebSocket client; a slow one is resynced, never waited for."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from mirror_twin.metrics import CLIENTS_RESYNCED, MESSAGES_DROPPED

log = structlog.get_logger()


@dataclass(eq=False)
class Client:
    """One connected browser: what waits to be sent to it, and whether it fell behind."""

    queue: asyncio.Queue[bytes]
    behind: bool = False
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Broadcaster:
    """Fans diffs out to every client without ever blocking on one."""

    def __init__(self, *, queue_size: int, snapshot: Callable[[], bytes]) -> None:
        self.queue_size = queue_size
        self.snapshot = snapshot
        self.clients: set[Client] = set()

    def join(self) -> Client:
        """A new client, whose first message is a full frame."""
        client = Client(queue=asyncio.Queue(self.queue_size))
        client.queue.put_nowait(self.snapshot())
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        """Forget a client that disconnected."""
        self.clients.discard(client)

    def publish(self, message: bytes) -> None:
        """Queue `message` for every client; a client whose queue is full is marked behind."""
        for client in self.clients:
            if client.behind:
                continue
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                # Its queued diffs are useless now: it gets a fresh full frame instead.
                client.behind = True
                CLIENTS_RESYNCED.inc()
                MESSAGES_DROPPED.inc(client.queue.qsize() + 1)
                client.dropped += client.queue.qsize() + 1
                while not client.queue.empty():
                    client.queue.get_nowait()
                client.wake.set()
                log.info("ws.client_behind", dropped=client.dropped)

    @staticmethod
    def _is_behind(client: Client) -> bool:
        # A method, so mypy does not narrow the flag, which publish() changes meanwhile.
        return client.behind

    async def next_message(self, client: Client) -> bytes:
        """What to send this client next: a full frame after it fell behind, else a diff."""
        while True:
            if client.behind:
                client.behind = False
                # The frame supersedes what waits (diffs queued before a client asked for it):
                # sent after it, those would be older than the frame.
                while not client.queue.empty():
                    client.queue.get_nowait()
                return self.snapshot()
            if not client.queue.empty():
                return client.queue.get_nowait()
            client.wake.clear()
            getting = asyncio.ensure_future(client.queue.get())
            waking = asyncio.ensure_future(client.wake.wait())
            try:
                await asyncio.wait({getting, waking}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Also when the caller is cancelled (the client left): no task is left behind.
                waking.cancel()
                getting.cancel()
            if getting.done() and not getting.cancelled():
                message = getting.result()
                if self._is_behind(client):  # fell behind while this diff was in flight
                    continue
                return message
