"""Transports: how envelopes reach the bus, over NATS JetStream or the ingest's HTTP API."""

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Protocol

import nats
import nats.aio.client
import nats.errors
import nats.js.errors
from nats.js.api import PubAck

from mirror_agent.envelope import Envelope
from mirror_agent.nats_auth import connect_options
from mirror_schema.acked_publish import AckedPublisher, Outgoing
from mirror_schema.backoff import Backoff
from mirror_schema.nats_credentials import server_urls

log = logging.getLogger(__name__)

# Samples resent at once after a reconnect (a batch's acknowledgements are awaited together).
RESEND_BATCH = 1_000


class TransportUnavailableError(Exception):
    """Nothing was acknowledged now; the same envelopes may be retried later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


class RejectedError(Exception):
    """The receiver refused the batch as invalid; a retry cannot fix it."""


class Transport(Protocol):
    """Sends envelopes in order and says how many of the first ones were acknowledged."""

    async def send(self, batch: Sequence[Envelope]) -> int: ...

    async def close(self) -> None: ...


class NatsTransport:
    """JetStream publishes with Nats-Msg-Id; connects (and reconnects) in the background."""

    def __init__(
        self,
        nats_url: str,
        *,
        name: str,
        credentials_file: str | None = None,
        inbox: str | None = None,
        ca_file: str | None = None,
        ack_timeout_seconds: float = 2.0,
    ) -> None:
        self.nats_url = nats_url
        self.name = name
        self.credentials_file = credentials_file
        self.inbox = inbox
        self.ca_file = ca_file
        self.ack_timeout = ack_timeout_seconds
        self.nc: nats.aio.client.Client | None = None
        self._publisher: AckedPublisher | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def _connect_forever(self) -> None:
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                self.nc = await nats.connect(
                    server_urls(self.nats_url),
                    name=self.name,
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **connect_options(self.credentials_file, self.inbox, self.ca_file),
                )
            except (OSError, nats.errors.Error, TimeoutError) as exc:
                log.info("nats.connect_failed url=%s error=%s", self.nats_url, exc)
                await asyncio.sleep(backoff.next())
                continue
            log.info("nats.connected url=%s", self.nats_url)
            return

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats.error %s", exc)

    async def _on_disconnected(self) -> None:
        if self.nc is not None and not (self.nc.is_closed or self.nc.is_draining):
            log.warning("nats.disconnected url=%s", self.nats_url)

    async def _on_reconnected(self) -> None:
        log.info("nats.reconnected url=%s", self.nats_url)

    def start(self) -> None:
        """Begin connecting in the background; sends fail fast until connected."""
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect_forever())

    async def send(self, batch: Sequence[Envelope]) -> int:
        """Publish the batch in order; return how many leading envelopes JetStream stored.

        After a reconnect, what was acknowledged just before the connection was lost goes
        first, again (mirror_schema.resend): a nats-server killed then may have lost it."""
        self.start()
        nc = self.nc
        if nc is None or not nc.is_connected:
            raise TransportUnavailableError("not connected to NATS")
        if self._publisher is None:
            self._publisher = AckedPublisher(nc)
        publisher = self._publisher
        due = publisher.due()
        for start in range(0, len(due), RESEND_BATCH):
            chunk = due[start : start + RESEND_BATCH]
            resent, failure = await self._publish(publisher, chunk)
            if resent < len(chunk):
                publisher.still_due(due[start + resent :])
                raise TransportUnavailableError(failure or "nothing acknowledged")
        if due:
            log.info("nats.resent count=%d after a reconnect", len(due))
        acknowledged, failure = await self._publish(
            publisher,
            [Outgoing(e.subject, e.payload, {"Nats-Msg-Id": e.msg_id}) for e in batch],
        )
        if acknowledged == 0:
            raise TransportUnavailableError(failure or "nothing acknowledged")
        return acknowledged

    async def _publish(
        self, publisher: AckedPublisher, batch: Sequence[Outgoing]
    ) -> tuple[int, str]:
        """How many leading messages were acknowledged, and why the next was not."""
        # Published one after the other (so the stream stores them in order), acknowledged
        # together: one round trip per batch instead of one per message. A failure part-way
        # leaves a prefix acknowledged; the rest is retried later with the same ids, which
        # the stream deduplicates.
        acks: list[asyncio.Future[PubAck]] = []
        failure = ""
        try:
            for message in batch:
                acks.append(await publisher.publish(*message))
        except (nats.errors.Error, nats.js.errors.Error) as exc:
            failure = str(exc) or type(exc).__name__
        if acks:
            _, late = await asyncio.wait(acks, timeout=self.ack_timeout)
            for ack in late:
                ack.cancel()
        acknowledged = 0
        for ack in acks:
            error = None if ack.cancelled() else ack.exception()
            if ack.cancelled() or error is not None:
                failure = failure or (str(error) if error else "no acknowledgement in time")
                break
            acknowledged += 1
        for ack in acks[acknowledged:]:
            if not ack.cancelled():
                ack.exception()  # retrieved, so asyncio does not report it as lost
        return acknowledged, failure

    async def close(self) -> None:
        """Stop connecting; drain and close the connection."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except (nats.errors.Error, TimeoutError):
                await self.nc.close()


class HttpTransport:
    """POST /api/metrics/batch on the ingest with a bearer token (standard library only)."""

    def __init__(self, ingest_url: str, *, token: str | None, timeout_seconds: float = 10.0):
        self.url = ingest_url.rstrip("/") + "/api/metrics/batch"
        self.token = token
        self.timeout = timeout_seconds

    def _post(self, body: bytes) -> tuple[int, bytes, str | None]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - the URL is validated as http(s) by the config
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read(), None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Retry-After")

    async def send(self, batch: Sequence[Envelope]) -> int:
        """Post the batch; 202 acknowledges all of it. A rejected batch raises RejectedError."""
        body = b'{"samples":[' + b",".join(e.payload for e in batch) + b"]}"
        try:
            status, answer, retry_after = await asyncio.to_thread(self._post, body)
        except (OSError, urllib.error.URLError) as exc:
            raise TransportUnavailableError(f"ingest unreachable: {exc}") from None
        if status in (200, 201, 202):
            return len(batch)
        if status == 429 or status >= 500:
            raise TransportUnavailableError(f"ingest answered {status}", _seconds(retry_after))
        raise RejectedError(f"ingest refused the batch with {status}: {_detail(answer)}")

    async def close(self) -> None:
        """Nothing to close: every request has its own connection."""


def _seconds(retry_after: str | None) -> float | None:
    try:
        return float(retry_after) if retry_after is not None else None
    except ValueError:
        return None


def _detail(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("detail", answer[:500]))
    except (ValueError, AttributeError):
        return answer[:500].decode(errors="replace")
