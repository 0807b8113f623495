"""BatchPuller: fetch batches from a durable pull consumer with one callback per message.

nats-py's `fetch` waits for each message with its own task and `wait_for` (~20 µs each): at
10,000 samples/s that alone is a fifth of a core. This puller collects a batch in a plain list.
"""

import asyncio

import msgspec
import nats.aio.client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

_STATUS = "Status"
_HEARTBEAT = "100"
_encode = msgspec.json.Encoder().encode


class BatchPuller:
    """One lane's pulls: a private inbox, a batch request, messages gathered until done."""

    def __init__(self, nc: nats.aio.client.Client, stream: str, durable: str) -> None:
        self._nc = nc
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._subscription: Subscription | None = None
        self._batch: list[Msg] = []
        self._enough = 0  # how many messages end the current wait
        self._done = asyncio.Event()

    async def start(self) -> None:
        """Subscribe the inbox that the server delivers pulled messages to."""
        self._subscription = await self._nc.subscribe(
            self._inbox, cb=self._on_message, pending_msgs_limit=-1, pending_bytes_limit=-1
        )

    async def _on_message(self, msg: Msg) -> None:
        status = msg.headers.get(_STATUS) if msg.headers else None
        if status is not None:
            # 404 no messages, 408 request expired, 409 limits: this request is over.
            if status != _HEARTBEAT:
                self._done.set()
            return
        self._batch.append(msg)
        if len(self._batch) >= self._enough:
            self._done.set()

    async def _request(self, request: dict[str, object], wait: float) -> None:
        self._done.clear()
        await self._nc.publish(self._next_subject, _encode(request), reply=self._inbox)
        try:
            async with asyncio.timeout(wait):
                await self._done.wait()
        except TimeoutError:
            pass

    async def fetch(self, batch: int, wait_seconds: float, *, eager: bool = False) -> list[Msg]:
        """Up to `batch` messages: what is there now, else what arrives within `wait_seconds`.

        `eager`: when nothing was there, return as soon as the first message arrives rather
        than when the batch is full or the wait is over (latency over batch size). Messages the
        still open pull request brings later are returned by the next fetch.
        """
        self._enough = batch
        await self._request({"batch": batch, "no_wait": True}, wait_seconds)
        if not self._batch:
            if eager:
                self._enough = 1
            expires = int(wait_seconds * 1e9)
            # The server ends the request itself at `expires`; the margin covers the round trip.
            await self._request({"batch": batch, "expires": expires}, wait_seconds + 1.0)
        messages, self._batch = self._batch, []
        return messages

    async def close(self) -> None:
        """Stop receiving; messages pulled but not acknowledged come back after ack_wait."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
