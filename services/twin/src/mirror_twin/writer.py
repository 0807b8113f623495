"""Which twin replica writes the checkpoint, and from when.

Every replica follows METRICS on its own, and one that lags (slower, or replaying after a
restart) holds older samples than another: were they all to write the checkpoint, the one
behind would put hosts and the position back in time. So one replica writes at a time, the
one holding the lease ``writer`` of the bucket ``twin_checkpoint_writer``
(mirror_runtime.leadership: renewed every second, gone 5 s after the last renewal, deleted at
once by a replica that stops cleanly); the others keep their changes unsaved until they lead.

A replica that takes the lease may be behind the one that wrote before it. Whatever that one
saved came from samples METRICS held when the lease changed hands, so the new writer notes
the stream's last sequence then and writes nothing until its state is up to date with it:
from there on every host it writes is at least as new as the one stored. The lease cannot
fence a write already sent by a writer paused past its lease (the position still cannot go
back: checkpoint.advance_position); ``may_write`` is asked before every slice, and a writer
stops ``MARGIN_SECONDS`` before its lease can run out on the server.
"""

import asyncio
from typing import Final

from nats.js.client import JetStreamContext

from mirror_runtime.leadership import Leadership, Lease
from mirror_schema import streams

BUCKET: Final = streams.BUCKET_TWIN_CHECKPOINT_WRITER
KEY: Final = "writer"


class CheckpointWriter:
    """This replica's turn at writing the checkpoint, while it holds the lease."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.leadership = Leadership(js, bucket=BUCKET, key=KEY)
        self._lease: Lease | None = None
        # METRICS' last sequence when this replica took the lease: what it must hold first.
        self._catch_up_to = 0

    async def run(self) -> None:
        """Forever (until cancelled): wait for the lease, hold it, and hand it over at the end."""
        await self.leadership.run(self._term)

    async def _term(self, lease: Lease) -> None:
        info = await self.js.stream_info(streams.METRICS.name)
        self._catch_up_to = info.state.last_seq
        self._lease = lease
        try:
            await asyncio.Event().wait()  # until the lease is lost or the twin stops
        finally:
            self._lease = None

    def holds_lease(self) -> bool:
        """Whether this replica holds the lease (it may still be catching up)."""
        return self._lease is not None and self._lease.held()

    def may_write(self, stream_seq: int | None) -> bool:
        """Whether a state up to date with METRICS' ``stream_seq`` may be written now."""
        return self.holds_lease() and stream_seq is not None and stream_seq >= self._catch_up_to
