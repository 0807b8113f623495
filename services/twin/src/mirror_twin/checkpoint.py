"""The twin's checkpoint: every host's last two samples, and how far into METRICS they go.

Kept in a JetStream KV bucket, one key per host plus a ``position`` key, so a restarted twin
shows every host at once (before it has heard from any) and resumes the stream where it
stopped instead of replaying it. Only hosts changed since the last save are written.

Replicas share the bucket, and it never goes back in time, whichever of them write it:

- One replica writes at a time, the one holding the lease of writer.py; the others only read
  it when they start.
- The position only moves forward: it is written with the revision just read (a
  compare-and-set: a position another writer saved meanwhile is never overwritten unseen) and
  never to a smaller sequence of the same stream (``moves_forward``). That is one read per
  round, not per host.
- Hosts are written without waiting for each acknowledgement (thousands a second), so they are
  not compared one by one; instead a replica that takes the lease writes nothing until its
  state has caught up with every sample METRICS held when it took it (writer.py): whatever a
  writer before it saved came from those samples, so each host it writes is at least as new.
"""

from collections.abc import Sequence
from datetime import datetime

import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
import structlog
from nats.js.api import DeliverPolicy
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
# A load waits this long for each saved value before it gives up on the rest.
LOAD_WAIT_SECONDS = 10.0
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
    # When that METRICS was made: one made anew (deleted by an admin) counts from 1 again.
    # None in positions saved before it was kept.
    stream_created: datetime | None = None


def moves_forward(position: StreamPosition, saved: StreamPosition) -> bool:
    """Whether ``position`` may replace ``saved``: further into the same stream, or of another
    stream (METRICS was made anew; its sequences start again)."""
    if None not in (position.stream_created, saved.stream_created) and (
        position.stream_created != saved.stream_created
    ):
        return True
    return position.stream_seq > saved.stream_seq


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """What a restarted twin starts from."""

    hosts: list[HostCheckpoint]
    stream_seq: int | None  # None: nothing was ever saved
    stream_created: datetime | None = None  # of the stream stream_seq is in, when known


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
        """Every saved host and the saved position; an entry that does not decode is skipped.

        Read with an ordered consumer, the last value of each key, until as many as the
        bucket held when asked: nats-py's watcher can say "no more" before the first value
        when the server delivers them all before it answers the watcher's own question, and
        a restarted twin then came back with no host at all.
        """
        js = self.nc.jetstream()
        info = await js.stream_info(f"KV_{BUCKET}")
        expected = info.state.messages  # one per key: the bucket keeps one value of each
        prefix = f"$KV.{BUCKET}."
        hosts: list[HostCheckpoint] = []
        position: StreamPosition | None = None
        subscription = await js.subscribe(
            f"{prefix}>",
            stream=f"KV_{BUCKET}",
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )
        try:
            for _ in range(expected):
                try:
                    msg = await subscription.next_msg(timeout=LOAD_WAIT_SECONDS)
                except nats.errors.TimeoutError:
                    log.warning("checkpoint.load_short", expected=expected)
                    break
                key = msg.subject.removeprefix(prefix)
                if not msg.data:  # a deleted host
                    continue
                try:
                    if key == POSITION_KEY:
                        position = _decode_position(msg.data)
                    else:
                        hosts.append(_decode_host(msg.data))
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    log.warning("checkpoint.entry_refused", key=key, reason=str(exc))
        finally:
            await subscription.unsubscribe()
        if position is None:
            return Checkpoint(hosts=hosts, stream_seq=None)
        return Checkpoint(
            hosts=hosts, stream_seq=position.stream_seq, stream_created=position.stream_created
        )

    async def write_hosts(
        self, hosts: Sequence[tuple[str, MetricSample, MetricSample | None]]
    ) -> None:
        """Publish hosts' samples, without waiting for each acknowledgement.

        Thousands of acknowledged puts cost the twin a fifth of a core and stalled its diffs.
        NATS stores one connection's messages to a stream in the order they were sent, so the
        acknowledged position written after them (advance_position) comes after them too.
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

    async def advance_position(self, position: StreamPosition) -> bool:
        """Move the position, once every host it covers is written; whether it moved.

        Not when the saved one is as far or further (``moves_forward``), nor when another
        writer saved one between the read and the write (compare-and-set on its revision).
        """
        encoded = msgspec.json.encode(position)
        try:
            entry = await self.kv.get(POSITION_KEY)
        except nats.js.errors.KeyNotFoundError:
            entry = None
        try:
            if entry is None:
                await self.kv.create(POSITION_KEY, encoded)
                return True
            saved = _saved_position(entry.value)
            if saved is not None and not moves_forward(position, saved):
                return False
            await self.kv.update(POSITION_KEY, encoded, last=entry.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            return False  # another writer moved it meanwhile: the next round reads it again
        return True


def _saved_position(value: bytes | None) -> StreamPosition | None:
    """The saved position; None for one that does not decode (any position replaces it)."""
    try:
        return _decode_position(value or b"")
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        log.warning("checkpoint.entry_refused", key=POSITION_KEY, reason=str(exc))
        return None


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
