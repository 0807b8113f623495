"""bench_twin's WebSocket clients on /ws/twin: what they decode, their latencies and bytes;
and bench_fleet's own reading of some hosts' samples off the bus, for the part of a sample's
latency before the bus."""

from __future__ import annotations

import asyncio
import time
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import nats.aio.client
import websockets
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mirror_agent.simulated_fleet import simulated_host_id
from mirror_schema import subjects

WARMUP_SECONDS = 5.0  # of steady state after the first frame, before the window opens
WARMUP_LIMIT_SECONDS = 60.0  # open the window anyway, and say so, if not every host shows up


class HostEntry(msgspec.Struct):
    """What the bench reads of a frame's host or a diff's host patch."""

    host_id: str
    last_seen: datetime | None = None


class Message(msgspec.Struct):
    """What the bench reads of any message on /ws/twin; other fields are skipped unread."""

    type: str = ""
    seq: int = -1
    base_seq: int = -1
    hosts: list[HostEntry] = []


decode_message = msgspec.json.Decoder(Message).decode


@dataclass(frozen=True)
class Decoded:
    """A frame or diff: its seq, base_seq, and (host id, last_seen epoch) of its hosts."""

    frame: bool
    seq: int
    base_seq: int
    seen: list[tuple[str, float]]


class DecodeCache:
    """Every client gets the same bytes for one diff: decode them once."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.decoded: dict[bytes, Decoded | None] = {}
        self.undecodable = 0

    def get(self, raw: bytes) -> Decoded | None:
        """The frame or diff in `raw`; None for any other message."""
        if raw in self.decoded:
            return self.decoded[raw]
        try:
            message = decode_message(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self.undecodable += 1
            message = Message()
        result = None
        if message.type in ("frame", "diff"):
            seen = [(h.host_id, h.last_seen.timestamp()) for h in message.hosts if h.last_seen]
            result = Decoded(message.type == "frame", message.seq, message.base_seq, seen)
        if len(self.decoded) >= self.size:
            del self.decoded[next(iter(self.decoded))]
        self.decoded[raw] = result
        return result


@dataclass(eq=False)
class Watcher:
    """One client's view of the twin and what it measured while the window was open."""

    deflate: zlib._Compress | None = None
    held: dict[str, float] = field(default_factory=dict)
    seq: int = -1
    awaiting_frame: bool = False
    first_frame_at: float | None = None
    frames: int = 0
    gaps: int = 0
    # Counted only while the window is open:
    latencies: array[float] = field(default_factory=lambda: array("d"))
    messages: int = 0
    text_bytes: int = 0
    wire_bytes: int = 0
    window_frames: int = 0
    window_gaps: int = 0
    # When the bench also reads some hosts' samples off the bus: when each (host, sample
    # timestamp) was seen there, taken when its change reaches the socket.
    on_bus: dict[tuple[str, float], float] | None = None
    bus_latencies: array[float] = field(default_factory=lambda: array("d"))

    def receive(self, raw: bytes, now: float, measuring: bool, cache: DecodeCache) -> bool:
        """Apply one message; True when the client saw a gap and should ask for a frame."""
        if self.deflate is not None:
            # permessage-deflate drops the 00 00 ff ff that ends every sync flush (RFC 7692).
            wire = len(self.deflate.compress(raw)) + len(self.deflate.flush(zlib.Z_SYNC_FLUSH)) - 4
            if measuring:
                self.wire_bytes += wire
        if measuring:
            self.messages += 1
            self.text_bytes += len(raw)
        decoded = cache.get(raw)
        if decoded is None:
            return False
        if decoded.frame:
            self.frames += 1
            if self.first_frame_at is None:
                self.first_frame_at = now
            elif measuring:
                self.window_frames += 1
            self.awaiting_frame = False
            self.seq = decoded.seq
            self.held.update(decoded.seen)
            return False
        if self.awaiting_frame or self.seq < 0:
            return False
        if decoded.base_seq != self.seq:
            self.gaps += 1
            self.window_gaps += int(measuring)
            self.awaiting_frame = True
            return True
        self.seq = decoded.seq
        held = self.held
        for host_id, last_seen in decoded.seen:
            if held.get(host_id) != last_seen:  # a patch with last_seen means a new sample
                held[host_id] = last_seen
                if measuring:
                    self.latencies.append(now - last_seen)
                    if self.on_bus is not None:
                        at = self.on_bus.pop((host_id, round(last_seen, 6)), None)
                        if at is not None:
                            self.bus_latencies.append(now - at)
        return False


@dataclass
class Window:
    """Whether the measuring window is open; the clients read it on every message."""

    open: bool = False
    # "deflate": the clients negotiate permessage-deflate as browsers do, so the twin compresses
    # for each of them (and its CPU shows it); None: plain text.
    compression: str | None = None


async def follow(url: str, watcher: Watcher, window: Window, cache: DecodeCache) -> None:
    """Receive from /ws/twin until cancelled, asking for a frame after each gap."""
    async with websockets.connect(
        url,
        compression=window.compression,
        max_size=None,
        ping_interval=None,
        proxy=None,
        close_timeout=2,
    ) as socket:
        while True:
            raw = await socket.recv(decode=False)
            if watcher.receive(raw, time.time(), window.open, cache):
                await socket.send("frame")


async def warm_up(watchers: list[Watcher], tasks: list[asyncio.Task[None]], hosts: int) -> str:
    """Wait for every client's first frame, all hosts, then WARMUP_SECONDS; a note if cut short."""
    began = time.monotonic()
    first = watchers[0]
    while time.monotonic() - began < WARMUP_LIMIT_SECONDS:
        if any(task.done() for task in tasks):
            return "a client's connection ended during the warm-up"
        framed = [w.first_frame_at or 0.0 for w in watchers]
        steady = time.time() - max(framed) >= WARMUP_SECONDS
        if all(framed) and len(first.held) >= hosts and steady:
            return ""
        await asyncio.sleep(0.1)
    return (
        f"warm-up cut at {WARMUP_LIMIT_SECONDS:.0f} s: the client knew {len(first.held):,} of "
        f"{hosts:,} hosts"
    )


def percentiles(values: array[float]) -> str:
    """p50 / p99 / max in ms, nearest rank."""
    if not values:
        return "no samples"
    ordered = sorted(values)
    n = len(ordered)
    p50, p99 = ordered[max(0, (n + 1) // 2 - 1)], ordered[max(0, -(-99 * n // 100) - 1)]
    return f"p50 {p50 * 1e3:,.0f} ms  p99 {p99 * 1e3:,.0f} ms  max {ordered[-1] * 1e3:,.0f} ms"


def median_ms(values: array[float]) -> str:
    return f"{sorted(values)[len(values) // 2] * 1e3:,.0f}" if values else "-"


class _SampleTime(msgspec.Struct):
    timestamp: datetime


_decode_sample_time = msgspec.json.Decoder(_SampleTime).decode


@dataclass
class BusWatch:
    """The bench's own core subscriptions to some hosts' samples."""

    subscriptions: list[Subscription] = field(default_factory=list)
    latencies: array[float] = field(default_factory=lambda: array("d"))


async def watch_bus(
    nc: nats.aio.client.Client, hosts: int, watched: int, watcher: Watcher
) -> BusWatch:
    """Read `watched` of the simulated `hosts`' samples off the bus as they are published:
    when each arrived goes to `watcher` (for the bus-to-socket part), its delay after its
    timestamp here."""
    watch = BusWatch()
    arrivals: dict[tuple[str, float], float] = {}
    watcher.on_bus = arrivals

    async def seen(msg: Msg) -> None:
        now = time.time()
        stamped = _decode_sample_time(msg.data).timestamp.timestamp()
        arrivals[(subjects.host_id_from_subject(msg.subject), round(stamped, 6))] = now
        watch.latencies.append(now - stamped)

    step = max(1, hosts // watched)
    for index in range(0, step * watched, step):
        subject = subjects.metrics_raw(simulated_host_id(index))
        watch.subscriptions.append(await nc.subscribe(subject, cb=seen))
    return watch
