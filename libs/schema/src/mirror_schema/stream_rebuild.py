"""Give a stream a configuration nats-server will not apply in place, keeping what it holds.

nats-server refuses to change a stream's persist mode by an update. The stream is rebuilt
instead: new writes are turned away (its subjects swapped for one nobody publishes to, so a
publisher gets no answer and keeps its sample to send again), a snapshot with its consumers is
written to a file and synced, the stream is deleted and restored from the snapshot under the
new configuration: every message keeps its sequence and every consumer its position.

The snapshot file is the only copy between the delete and the restore: a launcher stopped in
that moment finds the file at its next start and restores from it (``restore_pending``).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.api import StreamConfig

API_SECONDS: Final = 30.0
# No chunk for this long: the snapshot has stalled.
CHUNK_SECONDS: Final = 30.0
CHUNK_BYTES: Final = 256 * 1024
# A subject no MIRROR STAGE identity may publish to: the stream's own while it is rebuilt.
PARKED_SUBJECT: Final = "_mirror.rebuilding.{name}"


class RebuildError(Exception):
    """The server refused a step of a rebuild (its answer is in the message)."""


def _name(config: StreamConfig) -> str:
    assert config.name is not None, "a stream's configuration names it"
    return config.name


def snapshot_path(spool_dir: Path, name: str) -> Path:
    """Where the complete snapshot of stream `name` is kept until its restore has succeeded."""
    return spool_dir / f"{name}.snapshot"


def _answer(data: bytes, what: str) -> dict[str, Any]:
    """A JetStream API answer; RebuildError naming `what` when it is a refusal."""
    answer: dict[str, Any] = json.loads(data)
    if "error" in answer:
        raise RebuildError(f"{what}: {answer['error'].get('description', answer['error'])}")
    return answer


async def _api(nc: Client, subject: str, body: dict[str, Any]) -> dict[str, Any]:
    msg = await nc.request(subject, json.dumps(body).encode(), timeout=API_SECONDS)
    return _answer(msg.data, subject)


async def write_snapshot(nc: Client, name: str, target: Path) -> None:
    """Stream `name`'s snapshot, with its consumers, into `target` (synced)."""
    partial = target.with_suffix(".partial")
    chunks: asyncio.Queue[Msg] = asyncio.Queue(maxsize=64)
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=chunks.put)
    try:
        await _api(
            nc,
            f"$JS.API.STREAM.SNAPSHOT.{name}",
            {"deliver_subject": inbox, "chunk_size": CHUNK_BYTES},
        )
        with partial.open("wb") as out:
            while True:
                async with asyncio.timeout(CHUNK_SECONDS):
                    chunk = await chunks.get()
                if not chunk.data:
                    status = (chunk.headers or {}).get("Status", "")
                    description = (chunk.headers or {}).get("Description", "")
                    if status and status != "204":
                        raise RebuildError(f"snapshot of {name}: {status} {description}".strip())
                    break
                out.write(chunk.data)
                if chunk.reply:  # flow control: room for one more (the last asks for none)
                    await nc.publish(chunk.reply, b"")
            out.flush()
            os.fsync(out.fileno())
    finally:
        await sub.unsubscribe()
    partial.rename(target)
    _sync_dir(target.parent)


async def _restore(nc: Client, config: StreamConfig, snapshot: BinaryIO) -> None:
    """Create stream `config.name` from `snapshot`, under `config`."""
    from nats.errors import TimeoutError as NatsTimeoutError

    what = f"restore of {config.name}"
    answer = await _api(
        nc, f"$JS.API.STREAM.RESTORE.{config.name}", {"config": config.as_dict(), "state": {}}
    )
    deliver = answer["deliver_subject"]
    while chunk := snapshot.read(CHUNK_BYTES):
        reply = await nc.request(deliver, chunk, timeout=API_SECONDS)
        if reply.data:
            _answer(reply.data, what)
    try:
        done = await nc.request(deliver, b"", timeout=API_SECONDS * 4)
    except NatsTimeoutError:
        raise RebuildError(f"{what}: no answer at its end") from None
    _answer(done.data, what)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StreamRebuilder:
    """Rebuilds streams for the launcher's admin connection, keeping snapshots in `spool_dir`
    (on the same disk as the server's store: a snapshot is as large as its stream)."""

    def __init__(self, nc: Client, spool_dir: Path) -> None:
        self.nc = nc
        self.spool_dir = spool_dir

    async def rebuild(self, config: StreamConfig) -> None:
        """Give stream `config.name` the configuration `config`, keeping its messages, their
        sequences and its consumers."""
        name = _name(config)
        js = self.nc.jetstream()
        parked = (await js.stream_info(name)).config
        parked.subjects = [PARKED_SUBJECT.format(name=name)]
        await js.update_stream(parked)
        os.makedirs(self.spool_dir, exist_ok=True)
        await write_snapshot(self.nc, name, snapshot_path(self.spool_dir, name))
        await js.delete_stream(name)
        await self.restore_pending(config)

    async def restore_pending(self, config: StreamConfig) -> bool:
        """Finish a rebuild that stopped between its delete and its restore: stream
        `config.name` is missing and its snapshot is on disk. Whether it restored it."""
        snapshot = snapshot_path(self.spool_dir, _name(config))
        try:
            pending = snapshot.open("rb")
        except FileNotFoundError:
            return False
        with pending:
            await _restore(self.nc, config, pending)
        os.unlink(snapshot)
        return True
