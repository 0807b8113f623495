"""Shipper: drains the buffer through the transport, in order, with bounded backoff."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from mirror_agent.buffer import SampleBuffer
from mirror_agent.envelope import Envelope
from mirror_agent.transport import RejectedError, Transport, TransportUnavailableError
from mirror_schema.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass
class ShipperStats:
    """What the shipper did, for logs and tests."""

    sent: int = 0
    rejected: int = 0
    failed_attempts: int = 0


class Shipper:
    """Every envelope goes through the buffer, so order holds and nothing waits in a coroutine."""

    def __init__(
        self,
        transport: Transport,
        buffer: SampleBuffer,
        *,
        batch_size: int = 200,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.transport = transport
        self.buffer = buffer
        self.batch_size = batch_size
        self.max_backoff = max_backoff_seconds
        self.stats = ShipperStats()
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()

    @property
    def dropped(self) -> int:
        """Envelopes the buffer's size cap dropped."""
        return self.buffer.dropped

    def submit(self, envelope: Envelope) -> None:
        """Queue an envelope for sending (never blocks on the network)."""
        self.buffer.append(envelope)
        self._empty.clear()
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; what is still buffered then stays for the next start."""
        backoff = Backoff(first=0.1, cap=self.max_backoff)
        while not stop.is_set():
            batch = self.buffer.peek(self.batch_size)
            if not batch:
                self._empty.set()
                self._wake.clear()
                await _first_of(self._wake, stop)
                continue
            try:
                acknowledged = await self._send(batch)
            except TransportUnavailableError as exc:
                self.stats.failed_attempts += 1
                pause = backoff.next()
                delay = exc.retry_after if exc.retry_after is not None else pause
                log.debug("ship.retry_later reason=%s in_seconds=%.2f", exc.reason, delay)
                await _first_of(stop, within=min(delay, self.max_backoff))
                continue
            backoff.reset()
            self.buffer.commit(acknowledged)
            self.stats.sent += acknowledged

    async def _send(self, batch: list[Envelope]) -> int:
        try:
            return await self.transport.send(batch)
        except RejectedError as exc:
            if len(batch) > 1:
                # Find the one envelope at fault: send the first alone; the rest follow later.
                return await self._send(batch[:1])
            self.stats.rejected += 1
            log.warning(
                "ship.rejected msg_id=%s reason=%s rejected_total=%d",
                batch[0].msg_id,
                exc,
                self.stats.rejected,
            )
            return 1  # a refused sample cannot be fixed by resending it: counted, logged, gone

    async def wait_empty(self) -> None:
        """Return once everything submitted so far has been sent (or rejected)."""
        await self._empty.wait()


async def drain(shippers: Sequence[Shipper], seconds: float) -> None:
    """At a stop: let `shippers` send what is buffered for at most `seconds` (what is left is
    said by the caller's summary, or lost with a memory buffer)."""
    try:
        async with asyncio.timeout(seconds):
            await asyncio.gather(*(shipper.wait_empty() for shipper in shippers))
    except TimeoutError:
        pass


async def _first_of(*events: asyncio.Event, within: float | None = None) -> None:
    """Wait until any of `events` is set, or `within` seconds pass."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
