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
import sys
import tempfile
import time
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import nats.aio.client
import psutil
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from twin_clients import (
    WARMUP_LIMIT_SECONDS,
    DecodeCache,
    Watcher,
    Window,
    follow,
    median_ms,
    percentiles,
    warm_up,
)
from twin_helpers import twin_spec
from twin_publisher import publisher, start_publisher, stop_publisher

from mirror_schema import streams
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised
from servers import embedded_nats

CLIENT_HOSTS = 1000
TWIN_COUNTERS = (
    "mirror_twin_client_resyncs_total",
    "mirror_twin_client_messages_dropped_total",
    "mirror_twin_samples_applied_total",
    "mirror_twin_diffs_total",
)


def twin_settings() -> dict[str, str]:
    """MIRROR_STAGE_TWIN_* settings of this shell, passed on to the twin under test."""
    return {k: v for k, v in os.environ.items() if k.startswith("MIRROR_STAGE_TWIN_")}


# Set once from --deflate.
CLIENT_COMPRESSION: list[str | None] = [None]


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


async def scenario(hosts: int, clients: int, seconds: float) -> None:
    """One fresh nats-server and twin, `hosts` publishing, `clients` watching; print figures."""
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as base_dir:
        base = Path(base_dir)
        async with embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as ns:
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
    process = await start_publisher(__file__, nats_url, hosts, WARMUP_LIMIT_SECONDS + seconds + 60)
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
