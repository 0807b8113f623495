"""SamplePublisher: publish a batch of accepted samples to JetStream, all acknowledged or failed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import nats.aio.client
import nats.errors
from nats.js.api import PubAck

from mirror_ingest.errors import PublishFailedError
from mirror_ingest.metrics import PUBLISHED
from mirror_ingest.validation import AcceptedSample
from mirror_schema.acked_publish import AckedPublisher, Outgoing

__all__ = ["SamplePublisher"]

_MSG_ID_HEADER: Final = "Nats-Msg-Id"
# Samples sent again at once after a reconnect (mirror_schema.resend): in steps well under the
# publisher's max_pending, however many fell due.
RESEND_CHUNK: Final = 500


class SamplePublisher:
    """Publishes samples with their Nats-Msg-Id and waits for every acknowledgement.

    A batch that fails may still be partly stored (or stored later, for messages that were in
    flight when the connection dropped); the client retries the whole batch and JetStream
    deduplicates by Msg-Id, so a failure is never a half-accept in effect.
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        *,
        ack_timeout_seconds: float,
        subject_prefix: str = "",
        max_pending: int = 4000,
    ) -> None:
        self._nc = nc
        # One reply subscription for the publisher's life; a batch goes out in one write.
        self._publisher = AckedPublisher(nc)
        self._max_pending = max_pending
        self._ack_timeout = ack_timeout_seconds
        # Tests only: the streams' subject prefix (mirror_schema.streams.ensure_streams).
        self._prefix = subject_prefix.rstrip(".")

    def subject(self, sample: AcceptedSample) -> str:
        """Where ``sample`` is published: its subject, behind the test prefix if one is set."""
        return f"{self._prefix}.{sample.subject}" if self._prefix else sample.subject

    async def publish(self, samples: Sequence[AcceptedSample]) -> None:
        """Publish every sample; return once all are acknowledged, else raise PublishFailedError."""
        if not samples:
            return
        # Fail fast: while reconnecting, nats-py would buffer the messages and send them later,
        # after the client was told that nothing was accepted.
        if not self._nc.is_connected:
            raise PublishFailedError("NATS is not connected")
        # After a reconnect, what was acknowledged just before the connection was lost goes
        # first, again (mirror_schema.resend): a nats-server killed then may have lost it.
        due = self._publisher.due()
        for start in range(0, len(due), RESEND_CHUNK):
            try:
                await self._publish_all(due[start : start + RESEND_CHUNK])
            except PublishFailedError:
                self._publisher.still_due(due[start:])
                raise
        await self._publish_all(
            [Outgoing(self.subject(s), s.payload, {_MSG_ID_HEADER: s.msg_id}) for s in samples]
        )

    async def _publish_all(self, samples: Sequence[Outgoing]) -> None:
        awaited = self._publisher.pending()
        if awaited and awaited + len(samples) > self._max_pending:
            # Bounded: beyond this the server is not keeping up; the client sends again later.
            # A batch alone goes through whatever its size (MIRROR_STAGE_INGEST_MAX_BATCH).
            raise PublishFailedError(
                f"{awaited} samples await their acknowledgement (at most {self._max_pending} "
                "at once): try again shortly"
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ack_timeout
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for sample in samples:
                futures.append(await self._publisher.publish(*sample))
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        except nats.errors.Error as exc:
            raise PublishFailedError(
                f"publishing failed after {len(futures)} of {len(samples)} samples: "
                f"{_describe(exc)}"
            ) from exc
        finally:
            _settle(futures)
        _check_acks(futures, total=len(samples), timeout=self._ack_timeout)


def _settle(futures: Sequence[asyncio.Future[PubAck]]) -> None:
    for future in futures:
        if not future.done():
            # A late ack must not stay among those awaited (max_pending) forever.
            future.cancel()
        elif not future.cancelled():
            # Retrieved, so asyncio does not log "exception was never retrieved".
            future.exception()


def _check_acks(futures: Sequence[asyncio.Future[PubAck]], *, total: int, timeout: float) -> None:
    acked = 0
    late = 0
    first_error: BaseException | None = None
    for future in futures:
        if future.cancelled():
            late += 1
            continue
        error = future.exception()
        if error is None:
            acked += 1
        elif first_error is None:
            first_error = error
    PUBLISHED.inc(acked)
    if acked == total:
        return
    parts = [f"{acked} of {total} samples acknowledged"]
    if late:
        parts.append(f"{late} not within {timeout:g} s")
    if first_error is not None:
        parts.append(f"first error: {_describe(first_error)}")
    raise PublishFailedError("; ".join(parts))


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
