"""The twin under a live fleet: publish-to-browser latency, bytes per client, the twin's CPU/RSS.

    .venv/bin/python bench/bench_twin.py [--hosts 100,1000,10000] [--seconds 15]
        [--clients 200] [--skip-clients] [--deflate]

For each --hosts count: a fresh nats-server, `python -m mirror_twin` as deployed, and a
publisher in its own process that sends every host's sample once a second to metrics.raw.<host>
(core NATS, with Nats-Msg-Id; METRICS stores them), spread evenly over the second and stamped
with the wall-clock time of its publish. One WebSocket client on /ws/twin measures, over
--seconds that start after its first frame and a few seconds of steady state:
- latency from a sample's publish to the diff holding it: receive time - the host's last_seen;
- bytes per second as the text arrives, and as permessage-deflate would put them on the wire
  (modelled: one zlib stream with context takeover, each message then Z_SYNC_FLUSH);
- the twin's CPU (% of one core, /proc/<pid>/stat) and RSS (VmRSS at the end, VmHWM).
Then --clients clients at 1,000 hosts: latency across all of them, the twin's CPU/RSS, and
how many were resynced (gaps the clients saw, mirror_twin_client_resyncs_total at /metrics).
Without --deflate the clients do not negotiate compression and the twin's CPU excludes it.
The CPU of the publisher, nats-server, this process and the whole machine is printed too: on
two cores they compete with the twin, and so does anything else running meanwhile.

The publisher re-stamps samples it encoded beforehand (timestamp, seq, uptime): simulating
10,000 hosts a second would take most of one of the two cores. It cycles through
TEMPLATE_TICKS simulated ticks per host, so a host's counters rewind every TEMPLATE_TICKS
samples and the twin sees a counter reset there. Loopback only; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import resource
import signal
import sys
import tempfile
import time
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import nats
import nats.aio.client
import psutil
import structlog
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from twin_helpers import twin_spec

from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised
from servers import embedded_nats

TEMPLATE_TICKS = 8
WARMUP_SECONDS = 5.0  # of steady state after the first frame, before the window opens
WARMUP_LIMIT_SECONDS = 60.0  # open the window anyway, and say so, if not every host shows up
CLIENT_HOSTS = 1000
# Replaced at each publish; encoded once into every template, then found again by bytes.
SENTINEL_TIME = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
SENTINEL_SEQ = 987_654_321
SENTINEL_UPTIME = 12_345_678.5
TIME_FIELD = b'"timestamp":"2001-02-03T04:05:06.789012Z"'
SEQ_FIELD = b'"seq":987654321'
UPTIME_FIELD = b'"uptime_seconds":12345678.5'
TWIN_COUNTERS = (
    "mirror_twin_client_resyncs_total",
    "mirror_twin_client_messages_dropped_total",
    "mirror_twin_samples_applied_total",
    "mirror_twin_diffs_total",
)


def twin_settings() -> dict[str, str]:
    """MIRROR_STAGE_TWIN_* settings of this shell, passed on to the twin under test."""
    return {k: v for k, v in os.environ.items() if k.startswith("MIRROR_STAGE_TWIN_")}


# The publisher (a child process) -------------------------------------------------------------


@dataclass(frozen=True)
class HostPlan:
    """One host's subject, msg-id prefix, boot time and pre-encoded samples with sentinels."""

    subject: str
    msg_id_prefix: str
    boot_time: float
    templates: list[bytes]


def plan_fleet(hosts: int) -> list[HostPlan]:
    """TEMPLATE_TICKS encoded samples per host, 1 s apart; hosts silent throughout are left out."""
    fleet = SimulatedFleet(hosts, seed=7, interval=1.0, prefix="tw", run_token=f"{os.getpid()}x")
    start = time.time() - TEMPLATE_TICKS
    plans: dict[str, HostPlan] = {}
    for k in range(TEMPLATE_TICKS):
        for sample in fleet.tick(start + k):
            envelope = envelope_of(
                msgspec.structs.replace(
                    sample,
                    timestamp=SENTINEL_TIME,
                    seq=SENTINEL_SEQ,
                    uptime_seconds=SENTINEL_UPTIME,
                )
            )
            if not all(f in envelope.payload for f in (TIME_FIELD, SEQ_FIELD, UPTIME_FIELD)):
                raise RuntimeError(
                    f"a sample no longer encodes {TIME_FIELD!r}, {SEQ_FIELD!r} and "
                    f"{UPTIME_FIELD!r} as the publisher expects; update bench_twin.py's sentinels"
                )
            plan = plans.get(envelope.subject)
            if plan is None:
                plan = plans[envelope.subject] = HostPlan(
                    subject=envelope.subject,
                    msg_id_prefix=envelope.msg_id.removesuffix(str(SENTINEL_SEQ)),
                    boot_time=start + k - (sample.uptime_seconds or 0.0),
                    templates=[],
                )
            plan.templates.append(envelope.payload)
    return list(plans.values())


async def publisher(url: str, hosts: int, limit: float) -> None:
    """Child process: publish every host once a second, evenly spread, until SIGTERM or `limit` s.

    Prints `ready <hosts>` once the samples are encoded and NATS is connected, then at the end
    one JSON line: published, seconds, max_behind (how late the latest slot got, in seconds).
    """
    plans = plan_fleet(hosts)
    nc = await nats.connect(url, pending_size=32 * 2**20)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"ready {len(plans)}", flush=True)
    count = len(plans)
    began = time.time()
    done = 0
    max_behind = 0.0
    second, prefix = -1, b""
    while not stop.is_set() and time.time() - began < limit:
        now = time.time()
        due = int((now - began) * count) + 1
        max_behind = max(max_behind, now - (began + done / count))
        # At most half a second's worth at once, so the flusher and signals get their turn.
        for slot in range(done, min(due, done + max(count // 2, 1))):
            rounds, index = divmod(slot, count)
            plan = plans[index]
            at = time.time()
            if int(at) != second:
                second = int(at)
                prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
            seq = rounds + 1
            payload = (
                plan.templates[rounds % len(plan.templates)]
                .replace(TIME_FIELD, b'"timestamp":"%s.%06dZ"' % (prefix, (at - second) * 1e6), 1)
                .replace(SEQ_FIELD, b'"seq":%d' % seq, 1)
                .replace(UPTIME_FIELD, b'"uptime_seconds":%.1f' % (at - plan.boot_time), 1)
            )
            await nc.publish(
                plan.subject, payload, headers={"Nats-Msg-Id": f"{plan.msg_id_prefix}{seq}"}
            )
            done = slot + 1
        await asyncio.sleep(max(0.0005, began + done / count - time.time()))
    elapsed = time.time() - began
    await nc.flush()
    await nc.close()
    print(json.dumps({"published": done, "seconds": elapsed, "max_behind": max_behind}), flush=True)


# The WebSocket clients -----------------------------------------------------------------------


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
        return False


# Set once from --deflate.
CLIENT_COMPRESSION: list[str | None] = [None]


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


# Figures -------------------------------------------------------------------------------------


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def nats_pid() -> int | None:
    """The pid of the nats-server this process started."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name().startswith("nats-server"):
                return child.pid
    return None


@dataclass(frozen=True)
class CpuClock:
    """CPU seconds of the processes sharing the machine, this one, and the whole machine."""

    pids: dict[str, int | None]

    def read(self) -> dict[str, float]:
        """CPU seconds so far, by name; a process that is gone is left out."""
        spent: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                spent[name] = cpu_seconds_of(pid) if pid is not None else float("nan")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        spent["bench clients"] = usage.ru_utime + usage.ru_stime
        # /proc/stat's first line: user nice system idle iowait irq softirq steal, in ticks.
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        spent["machine"] = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        return spent


async def twin_counters(http: httpx.AsyncClient) -> dict[str, float]:
    """The twin's counters in TWIN_COUNTERS that /metrics exports (a missing one is left out)."""
    text = (await http.get("/metrics")).text
    found: dict[str, float] = {}
    for name in TWIN_COUNTERS:
        for match in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE):
            found[name] = found.get(name, 0.0) + float(match.group(1))
    return found


async def stored_samples(nc: nats.aio.client.Client) -> int:
    """Messages METRICS has stored so far."""
    return int((await nc.jetstream().stream_info(streams.METRICS.name)).state.last_seq)


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


def log_summary(path: Path) -> str:
    """Warnings and errors in the twin's JSON log: count by event, and the first one's fields."""
    counts: dict[str, int] = {}
    example: dict[str, str] = {}
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    for line in lines:
        try:
            record = json.loads(line)
            level, event = str(record.pop("level", "")), str(record.pop("event", ""))
        except (json.JSONDecodeError, AttributeError):
            record, level, event = {}, ("error" if "Traceback" in line else ""), line[:100]
        if level in ("warning", "error", "critical", "exception"):
            key = f"{level} {event.splitlines()[0] if event else ''}"
            counts[key] = counts.get(key, 0) + 1
            record.pop("timestamp", None)
            example.setdefault(key, json.dumps(record)[:300])
    if not counts:
        return "no warnings or errors"
    return "; ".join(f"{n} x {key} (first: {example[key]})" for key, n in counts.items())


# One scenario --------------------------------------------------------------------------------


async def start_publisher(url: str, hosts: int, limit: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publisher",
        url,
        "--hosts",
        str(hosts),
        "--limit",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
    )


async def stop_publisher(process: asyncio.subprocess.Process) -> dict[str, float]:
    """SIGTERM the publisher and return its closing figures ({} if it gave none)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            output = await process.stdout.read()
            await process.wait()
    except TimeoutError:
        process.kill()
        return {}
    for line in reversed(output.decode().splitlines()):
        if line.startswith("{"):
            figures: dict[str, float] = json.loads(line)
            return figures
    return {}


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


async def scenario(hosts: int, clients: int, seconds: float) -> None:
    """One fresh nats-server and twin, `hosts` publishing, `clients` watching; print figures."""
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as base_dir:
        base = Path(base_dir)
        async with embedded_nats(base / "nats") as ns:
            nc = await nats.connect(ns.url)
            try:
                await streams.ensure_streams(nc.jetstream())
                port = free_port()
                twin = Supervised(twin_spec(ns.url, base / "twin.log", port, twin_settings()))
                await twin.start()
                try:
                    figures = await measure(ns.url, nc, twin, port, hosts, clients, seconds)
                finally:
                    code = await twin.stop()
            finally:
                await nc.close()
            if figures is not None:
                report(figures)
            print(f"  twin log: {log_summary(base / 'twin.log')} (exit code {code})")


@dataclass
class Figures:
    """What one scenario measured over its window."""

    hosts: int
    elapsed: float
    note: str
    stored: int
    max_behind: float
    counters: dict[str, float]  # increase over the window
    cpu: dict[str, float]  # CPU seconds spent over the window, by process, and "machine"
    rss: float
    peak: float
    watchers: list[Watcher]
    undecodable: int
    lost: int  # connections that ended before the window closed
    why: list[str]  # their exceptions


async def measure(
    nats_url: str,
    nc: nats.aio.client.Client,
    twin: Supervised,
    port: int,
    hosts: int,
    clients: int,
    seconds: float,
) -> Figures | None:
    """Publish, connect the clients, warm up, then measure over `seconds`."""
    process = await start_publisher(nats_url, hosts, WARMUP_LIMIT_SECONDS + seconds + 60)
    assert process.stdout is not None
    tasks: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(300):
            ready = (await process.stdout.readline()).decode().split()
        if not ready or ready[0] != "ready":
            print(f"hosts={hosts}: the publisher did not start ({ready})")
            return None
        await asyncio.sleep(1.5)  # one round published, so the first frame holds the fleet
        cache, window = DecodeCache(), Window(compression=CLIENT_COMPRESSION[0])
        watchers = [Watcher() for _ in range(clients)]
        # As the twin's websockets negotiates it: server_max_window_bits=12, memLevel 5.
        watchers[0].deflate = zlib.compressobj(wbits=-12, memLevel=5)
        url = f"ws://127.0.0.1:{port}/ws/twin"
        tasks = [asyncio.create_task(follow(url, w, window, cache)) for w in watchers]
        note = await warm_up(watchers, tasks, int(ready[1]))
        if twin.pid is None:
            print(f"hosts={hosts}: the twin exited during the warm-up")
            return None
        cpu = CpuClock({"twin": twin.pid, "publisher": process.pid, "nats-server": nats_pid()})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            counters, stored = await twin_counters(http), await stored_samples(nc)
            spent = cpu.read()
            began = time.monotonic()
            window.open = True
            await asyncio.sleep(seconds)
            window.open = False
            elapsed = time.monotonic() - began
            if twin.pid is None:
                print(f"hosts={hosts}: the twin exited during the window")
                return None
            spent = {name: value - spent[name] for name, value in cpu.read().items()}
            rss, peak = memory_of(twin.pid)
            stored = await stored_samples(nc) - stored
            after = await twin_counters(http)
        lost = [task for task in tasks if task.done()]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sent = await stop_publisher(process)
    why = {repr(task.exception()) for task in lost if not task.cancelled()}
    return Figures(
        hosts=int(ready[1]),
        elapsed=elapsed,
        note=note,
        stored=stored,
        max_behind=sent.get("max_behind", float("nan")),
        counters={name: after[name] - counters.get(name, 0.0) for name in after},
        cpu=spent,
        rss=rss,
        peak=peak,
        watchers=watchers,
        undecodable=cache.undecodable,
        lost=len(lost),
        why=sorted(why),
    )


def report(f: Figures) -> None:
    """Print one scenario's figures."""
    elapsed, watchers, first = f.elapsed, f.watchers, f.watchers[0]

    def rate(name: str) -> str:
        return f"{f.counters[name] / elapsed:,.1f}/s" if name in f.counters else "n/a"

    def count(name: str) -> str:
        return f"+{f.counters[name]:,.0f}" if name in f.counters else "n/a"

    latencies = array("d")
    for watcher in watchers:
        latencies.extend(watcher.latencies)
    third = len(first.latencies) // 3
    published = f.stored / elapsed
    short = "" if published >= 0.98 * f.hosts else "; THE PUBLISHER FELL SHORT OF THE TARGET"
    print(
        f"twin at {f.hosts:,} hosts x 1 sample/s, {len(watchers)} client(s), {elapsed:.1f} s window"
        + (f" [{f.note}]" if f.note else "")
    )
    print(
        f"  published {f.stored:,} samples (stored in METRICS) = {published:,.0f}/s of "
        f"{f.hosts:,}/s target ({published / f.hosts:.0%}); publisher at most "
        f"{f.max_behind:.2f} s behind its schedule{short}"
    )
    print(
        f"  twin applied {rate('mirror_twin_samples_applied_total')} samples, "
        f"broadcast {rate('mirror_twin_diffs_total')} diffs"
    )
    print(
        f"  latency publish -> diff at the client: {percentiles(latencies)} "
        f"({len(latencies):,} samples over {len(watchers)} client(s))"
    )
    print(
        f"    first client's p50 over the window's first / last third: "
        f"{median_ms(first.latencies[:third])} / {median_ms(first.latencies[-third:])} ms"
    )
    print(
        f"  one client receives {first.messages / elapsed:,.1f} msgs/s, "
        f"{first.text_bytes / elapsed:,.0f} B/s as text, {first.wire_bytes / elapsed:,.0f} B/s "
        f"with permessage-deflate (modelled, {first.wire_bytes / max(first.text_bytes, 1):.0%})"
    )
    if len(watchers) > 1:
        total = sum(w.text_bytes for w in watchers) / elapsed
        print(f"  all clients: {total:,.0f} B/s as text, {total / len(watchers):,.0f} B/s each")
    print(
        f"  twin CPU {f.cpu['twin'] / elapsed:.0%} of a core; RSS {f.rss:,.0f} MiB at the end, "
        f"peak {f.peak:,.0f} MiB"
    )
    others = ", ".join(
        f"{name} {spent / elapsed:.0%}" for name, spent in f.cpu.items() if name != "twin"
    )
    elsewhere = f.cpu["machine"] - sum(v for k, v in f.cpu.items() if k != "machine")
    print(
        f"  CPU also used (% of one core; {os.cpu_count()} cores): {others}, of which by "
        f"processes this bench did not start {elsewhere / elapsed:.0%}"
    )
    resynced = sum(1 for w in watchers if w.window_gaps or w.window_frames)
    print(
        f"  in the window: {sum(w.window_gaps for w in watchers)} gaps seen, "
        f"{sum(w.window_frames for w in watchers)} frames after the first, "
        f"{resynced} of {len(watchers)} client(s) resynced; twin counters: resyncs "
        f"{count('mirror_twin_client_resyncs_total')}, messages dropped "
        f"{count('mirror_twin_client_messages_dropped_total')}; "
        f"whole run: {sum(w.gaps for w in watchers)} gaps"
    )
    if f.lost or f.undecodable:
        print(
            f"  {f.lost} connection(s) ended early ({'; '.join(f.why[:3])}); "
            f"{f.undecodable} messages undecodable"
        )


async def run(args: argparse.Namespace) -> None:
    # The supervisor's debug lines would interleave with the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    for hosts in args.hosts:
        await scenario(hosts, 1, args.seconds)
    if not args.skip_clients:
        await scenario(CLIENT_HOSTS, args.clients, args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--hosts", type=lambda s: [int(h) for h in s.split(",")], default=[100, 1000, 10_000]
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--skip-clients", action="store_true")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="clients negotiate permessage-deflate, as browsers do (the twin's CPU includes it)",
    )
    parser.add_argument("--publisher", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=120.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    CLIENT_COMPRESSION[0] = "deflate" if args.deflate else None
    if args.publisher:
        asyncio.run(publisher(args.publisher, args.hosts[0], args.limit))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
