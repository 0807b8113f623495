"""A real local webhook receiver for the alerts' notification tests, and metric readers.

The receiver is a small HTTP/1.1 server on asyncio streams, on a free port, whose answer
depends on the path: /ok 200, /fail 500, /bad 400, /busy 429 then 200, /hang no answer
until `release` is set, /stuck 500 at once the first time, then 500 only once `release` is
set (a delivery held in the middle of its retries).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec
import prometheus_client


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookServer:
    """Records every request; answers by path."""

    hits: list[Hit] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0
    refusing: bool = True  # /flaky answers 500 while set, 200 after

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[dict[str, object]]:
        return [
            msgspec.json.decode(h.body, type=dict[str, object]) for h in self.hits if h.path == path
        ]

    def count(self, path: str) -> int:
        return sum(1 for h in self.hits if h.path == path)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while request_line := await reader.readline():
                _method, path, _version = request_line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.hits.append(Hit(path, headers, body))
                writer.write(await self.answer(path))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client timed out and hung up
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def answer(self, path: str) -> bytes:
        status, extra = {"/fail": (500, ""), "/stuck": (500, ""), "/bad": (400, "")}.get(
            path, (200, "")
        )
        if path == "/flaky" and self.refusing:
            status = 503
        if path == "/busy" and self.count("/busy") == 1:
            status, extra = 429, "Retry-After: 0\r\n"
        if path == "/hang" or (path == "/stuck" and self.count("/stuck") > 1):
            await self.release.wait()
        return f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n{extra}\r\n".encode()


@contextlib.asynccontextmanager
async def running_webhook() -> AsyncIterator[WebhookServer]:
    """A real HTTP server on a free port of 127.0.0.1, stopped after (a test's `webhook`)."""
    receiver = WebhookServer()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.close()
        for writer in list(receiver.writers):
            writer.close()
        await server.wait_closed()
        # Python 3.11's wait_closed() does not wait for the connections' handlers: wait here.
        async with asyncio.timeout(10):
            await asyncio.gather(*receiver.handlers, return_exceptions=True)


def counter(name: str, **labels: str) -> float:
    """The value of a labelled Prometheus counter of this process (0 before its first use)."""
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0.0
