"""Operators' saved placements in a JetStream KV bucket, which every twin replica follows."""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Annotated

import msgspec
import nats.js.client
import nats.js.errors
import structlog
from nats.js.kv import KeyValue

from mirror_runtime.buckets import open_bucket
from mirror_schema import streams
from mirror_schema.samples import Position

log = structlog.get_logger()

BUCKET = streams.BUCKET_TWIN_PLACEMENTS
BUCKET_MAX_BYTES = 16 * 2**20


class PlacementBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of PUT /api/twin/hosts/{id}/placement, and the value kept in the bucket."""

    layer: Annotated[int, msgspec.Meta(ge=1, le=7)] | None = None
    position: Position


decode_placement = msgspec.json.Decoder(PlacementBody).decode

Apply = Callable[[str, PlacementBody], None]


class PlacementStore:
    """Saves placements and feeds every saved one (past and future) to `apply`."""

    def __init__(self, js: nats.js.client.JetStreamContext) -> None:
        self.js = js
        self.kv: KeyValue | None = None
        self._following: asyncio.Task[None] | None = None

    async def open(self, apply: Apply) -> None:
        """Create the bucket if needed and start applying its entries, existing ones first."""
        self.kv = await open_bucket(self.js, BUCKET, max_bytes=BUCKET_MAX_BYTES)
        watcher = await self.kv.watchall()
        self._following = asyncio.create_task(self._follow(watcher, apply))

    async def _follow(self, watcher: KeyValue.KeyWatcher, apply: Apply) -> None:
        async for entry in watcher:
            if entry is None or not entry.value:  # end of the initial values, or a deletion
                continue
            try:
                apply(entry.key, decode_placement(entry.value))
            except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                log.warning("placement.refused", host_id=entry.key, reason=str(exc))

    async def save(self, host_id: str, placement: PlacementBody) -> None:
        """Store a placement; every replica applies it through its watcher."""
        assert self.kv is not None
        await self.kv.put(host_id, msgspec.json.encode(placement))

    async def close(self) -> None:
        """Stop following the bucket."""
        if self._following is not None:
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError, nats.js.errors.Error):
                await self._following
