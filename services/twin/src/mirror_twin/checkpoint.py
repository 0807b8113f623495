"""The twin's checkpoint: every host's last two samples, and how far into METRICS they go.

Kept in a JetStream KV bucket, one key per host plus a ``position`` key, so a restarted twin
shows every host at once (before it has heard from any) and resumes the stream where it
stopped instead of replaying it. Only hosts changed since the last save are written.
"""

from collections.abc import Sequence
from datetime import datetime

import msgspec
import nats.aio.client
import nats.js.errors
import structlog
from nats.js.kv import KeyValue

from mirror_runtime.buckets import open_bucket
from mirror_schema import streams
from mirror_schema.samples import MetricSample

log = structlog.get_logger()

BUCKET = streams.BUCKET_TWIN_CHECKPOINT
# Two samples of a few KiB per host: 10,000 hosts take some 60 MiB.
BUCKET_MAX_BYTES = 512 * 2**20
POSITION_KEY = "position"
HOST_KEY_PREFIX = "host."
# A round writes at least this many hosts per tick.
MIN_SLICE = 50


class HostCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One host as the twin holds it: its latest sample, and the one before for the rates."""

    latest: MetricSample
    previous: MetricSample | None = None


def counters_only(sample: MetricSample) -> MetricSample:
    """What of a host's previous sample the rates need: its time, boot and interface counters."""
    return MetricSample(
        hostname=sample.hostname,
        host_id=sample.host_id,
        timestamp=sample.timestamp,
        cpu_load=sample.cpu_load,
        boot_id=sample.boot_id,
        interfaces=sample.interfaces,
    )


class StreamPosition(msgspec.Struct, frozen=True, kw_only=True):
    """The METRICS stream sequence every saved host is up to date with."""

    stream_seq: int
    saved_at: datetime


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """What a restarted twin starts from."""

    hosts: list[HostCheckpoint]
    stream_seq: int | None  # None: nothing was ever saved


# MessagePack: a restart decodes every host's samples before it serves, and this is faster
# to decode and smaller than JSON. The position stays JSON, for people reading the bucket.
_encode_host = msgspec.msgpack.Encoder().encode
_decode_host = msgspec.msgpack.Decoder(HostCheckpoint).decode
_decode_position = msgspec.json.Decoder(StreamPosition).decode


class CheckpointStore:
    """Loads the checkpoint at start-up and saves changes to it."""

    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        """Create the bucket if needed."""
        self._kv = await open_bucket(self.nc.jetstream(), BUCKET, max_bytes=BUCKET_MAX_BYTES)

    @property
    def kv(self) -> KeyValue:
        """The bucket; open() first."""
        if self._kv is None:
            raise RuntimeError("CheckpointStore.open() was not called")
        return self._kv

    async def load(self) -> Checkpoint:
        """Every saved host and the saved position; an entry that does not decode is skipped."""
        hosts: list[HostCheckpoint] = []
        stream_seq: int | None = None
        watcher = await self.kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:  # the end of the values there were
                    break
                if not entry.value:  # a deleted host
                    continue
                try:
                    if entry.key == POSITION_KEY:
                        stream_seq = _decode_position(entry.value).stream_seq
                    else:
                        hosts.append(_decode_host(entry.value))
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    log.warning("checkpoint.entry_refused", key=entry.key, reason=str(exc))
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return Checkpoint(hosts=hosts, stream_seq=stream_seq)

    async def write_hosts(
        self, hosts: Sequence[tuple[str, MetricSample, MetricSample | None]]
    ) -> None:
        """Publish hosts' samples, without waiting for each acknowledgement.

        Thousands of acknowledged puts cost the twin a fifth of a core and stalled its diffs.
        NATS stores one connection's messages to a stream in the order they were sent, so the
        acknowledged position written after them (write_position) comes after them too.
        """
        for host_id, latest, previous in hosts:
            kept = None if previous is None else counters_only(previous)
            await self.nc.publish(
                f"$KV.{BUCKET}.{HOST_KEY_PREFIX}{host_id}",
                _encode_host(HostCheckpoint(latest=latest, previous=kept)),
            )

    async def delete_hosts(self, host_ids: Sequence[str]) -> None:
        """Forget removed hosts."""
        for host_id in host_ids:
            await self.kv.delete(HOST_KEY_PREFIX + host_id)

    async def write_position(self, position: StreamPosition) -> None:
        """Move the position, once every host it covers is written."""
        await self.kv.put(POSITION_KEY, msgspec.json.encode(position))


class CheckpointRound:
    """One pass over the hosts changed since the last, written a slice at a time.

    Saving 10,000 hosts at once stalled the diffs for most of a second; spread over ticks it
    does not show. The position saved at the end is the stream sequence when the round began:
    every host written since is at least that recent.
    """

    def __init__(self, host_ids: list[str], stream_seq: int, ticks: int) -> None:
        self.pending = host_ids
        self.stream_seq = stream_seq
        self.slice = max(MIN_SLICE, -(-len(host_ids) // max(1, ticks)))

    def next_slice(self) -> list[str]:
        """The host ids to write on this tick (empty once the round is done)."""
        taken, self.pending = self.pending[: self.slice], self.pending[self.slice :]
        return taken

    def rest(self) -> list[str]:
        """Every host id still to write, at once (when the twin stops)."""
        taken, self.pending = self.pending, []
        return taken


def resume_from(
    saved_seq: int | None, first_seq: int, last_seq: int, max_replay: int
) -> int | None:
    """The METRICS sequence to resume at, or None to start from every host's latest sample.

    None when nothing was saved, when the stream was recreated since (the saved sequence is
    past its end), or when more than ``max_replay`` samples came in meanwhile: replaying a long
    outage sample by sample would only delay the live view.
    """
    if saved_seq is None or saved_seq > last_seq:
        return None
    start = max(saved_seq + 1, first_seq)
    if last_seq - start + 1 > max_replay:
        return None
    return start
