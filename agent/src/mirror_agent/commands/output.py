"""Output: each stream captured up to its limit, and the captured bytes sent live, rate-limited.

Live chunks: at most one chunk per stream every `interval` (100 ms), each at most
`max_chunk_bytes` (16 KiB) of UTF-8 text (a character split across reads waits for its
other bytes). Only captured bytes go live, so a command sends at most its output limit per
stream; what is left when the command ends is sent at once, in chunks of the same size.
"""

import asyncio
import codecs
from collections.abc import Awaitable, Callable
from typing import Literal

Stream = Literal["stdout", "stderr"]
LIVE_INTERVAL_SECONDS = 0.1
MAX_CHUNK_BYTES = 16 * 1024


class Capture:
    """One stream's bytes, kept up to `limit`; past it, dropped and marked truncated."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> bytes:
        """Keep what fits of `chunk` and return that part."""
        kept = chunk[: max(self.limit - len(self.data), 0)]
        if len(kept) < len(chunk):
            self.truncated = True
        self.data += kept
        return kept

    def text(self) -> str:
        """The captured bytes as text (invalid UTF-8 replaced, never an error)."""
        return self.data.decode("utf-8", errors="replace")


SendChunk = Callable[[Stream, str], Awaitable[None]]


class LiveOutput:
    """Sends fed bytes as text chunks through `send`, at most one per stream per interval."""

    def __init__(
        self,
        send: SendChunk,
        *,
        interval: float = LIVE_INTERVAL_SECONDS,
        max_chunk_bytes: int = MAX_CHUNK_BYTES,
    ) -> None:
        self.send = send
        self.interval = interval
        self.max_chunk = max_chunk_bytes
        self._pending: dict[Stream, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace") for name in self._pending
        }
        self._wake = asyncio.Event()

    def feed(self, stream: Stream, data: bytes) -> None:
        """Queue `data` of `stream` for the next chunk (never blocks)."""
        if data:
            self._pending[stream] += data
            self._wake.set()

    async def run(self) -> None:
        """Send chunks until cancelled; call `finish` afterwards for the rest."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while any(self._pending.values()):
                await self._round(final=False)
                await asyncio.sleep(self.interval)  # the rate limit itself

    async def finish(self) -> None:
        """Send everything still pending, without waiting between chunks."""
        while any(self._pending.values()):
            await self._round(final=False)
        for name, decoder in self._decoders.items():
            tail = decoder.decode(b"", final=True)
            if tail:
                await self.send(name, tail)

    async def _round(self, *, final: bool) -> None:
        for name, pending in self._pending.items():
            if not pending:
                continue
            piece = bytes(pending[: self.max_chunk])
            del pending[: self.max_chunk]
            text = self._decoders[name].decode(piece, final=final)
            if text:
                await self.send(name, text)
