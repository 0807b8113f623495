"""JetStream publishes whose acknowledgements come back on one subscription of our own.

nats-py's ``publish_async`` waits for a free slot with ``asyncio.wait_for``, which hands the
event loop over at every message: the client's flusher then writes each message to the
socket alone, one system call per sample (at 2,000 samples/s the simulator spent two fifths
of its time in those writes). Here a batch goes out in one write, and each message's reply
subject is a token under one inbox, answered as nats-py would answer it. Used by every
publisher to METRICS: the agent's transport (and so the simulator) and the ingest's gateway.

It keeps what was acknowledged in the last seconds (mirror_schema.resend): after a reconnect
``due`` hands back what the lost connection had acknowledged just before, for the caller to
publish again before anything new.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, NamedTuple

from mirror_schema.resend import AcknowledgedTail

if TYPE_CHECKING:  # nats-py is the caller's (the agent's, a service's), not this library's
    import nats.aio.client
    from nats.aio.msg import Msg
    from nats.js.api import PubAck

NO_RESPONDERS = "503"


class Outgoing(NamedTuple):
    """One message as published, and as published again after a reconnect."""

    subject: str
    payload: bytes
    headers: dict[str, str]


class AckedPublisher:
    """Publishes with a reply token each; the token's future gets the PubAck or the error."""

    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc
        self._inbox = nc.new_inbox()
        self._pending: dict[str, asyncio.Future[PubAck]] = {}
        self._tokens = itertools.count()
        self._subscribed = False
        self._tail: AcknowledgedTail[Outgoing] = AcknowledgedTail(
            lambda: int(nc.stats["reconnects"])
        )

    def due(self) -> list[Outgoing]:
        """What to publish again before anything new: after a reconnect, what the lost
        connection acknowledged in its last seconds (the caller holds it from here)."""
        return self._tail.due()

    def still_due(self, messages: list[Outgoing]) -> None:
        """`messages`, handed out by `due`, were not acknowledged: they go first next time."""
        self._tail.still_due(messages)

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        """Send one message; a future for its acknowledgement (the caller bounds the wait and
        cancels what is late, which forgets it)."""
        ack = await self._send(subject, payload, headers)
        self._tail.watch(ack, Outgoing(subject, payload, headers))
        return ack

    async def _send(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        if not self._subscribed:
            await self.nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)
            self._subscribed = True
        reply = f"{self._inbox}.{next(self._tokens)}"
        ack: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._pending[reply] = ack
        ack.add_done_callback(lambda _: self._pending.pop(reply, None))
        await self.nc.publish(subject, payload, reply=reply, headers=headers)
        return ack

    async def _on_reply(self, msg: Msg) -> None:
        import nats.js.errors
        from nats.js.api import PubAck

        ack = self._pending.get(msg.subject)
        if ack is None or ack.done():
            return
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            ack.set_exception(nats.js.errors.NoStreamResponseError())
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            ack.set_exception(nats.js.errors.Error(f"not an acknowledgement: {msg.data[:80]!r}"))
            return
        if "error" in answer:
            try:  # nats-py's from_error raises the error it builds
                nats.js.errors.APIError.from_error(answer["error"])
            except nats.js.errors.APIError as refused:
                ack.set_exception(refused)
        else:
            ack.set_result(PubAck.from_response(answer))

    def pending(self) -> int:
        """Acknowledgements awaited now."""
        return len(self._pending)
