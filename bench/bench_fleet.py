"""The stack as a user runs it, under a simulated fleet: the README's performance table.

    .venv/bin/python bench/bench_fleet.py [--hosts 1000 5000 10000] [--seconds 30]
                                          [--interval 1] [--cluster]

For each fleet size N it starts `mirror-stage up --simulate N --simulate-interval 1` in a fresh
data dir, exactly as the README does (authorization on, logins on, default settings, nothing
tuned; `--cluster` adds `--cluster 3 --replicas 2`), logs in as the first admin and follows the
twin's socket as the HUD does (session cookie, permessage-deflate). After --settle seconds it
measures for --seconds, then stops the simulator (SIGSTOP) and waits for the history to drain:

- samples/s acknowledged by METRICS against the fleet's rate (N / interval), and the
  simulator's own account at its stop (sent, dropped, still buffered, ticks it fell behind);
- sample-to-socket latency p50/p99 at the logged-in client (each host's sample timestamp to
  the moment its change arrived; one clock, everything on this machine), split for
  BUS_WATCHED hosts into the simulator's part (timestamp to the sample on the bus, the
  bench's core subscription) and the stack's (on the bus to the socket);
- bytes per second the client received, read from the kernel's count for its TCP socket
  (TCP_INFO tcpi_bytes_received): compressed frames as they travel, no model;
- the history writer's lag (samples the `history` consumer has not yet acknowledged) at the
  window's end, and the seconds from the load's stop until it is 0;
- each process's CPU (share of one core over the window) and peak RSS (VmHWM).

Prints figures; asserts nothing. Loopback only; every phase bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import nats.aio.client
import psutil
import websockets
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from alert_probes import PROBE_RULE, probe_samples
from stack_login import checked, log_in, one_time_password
from stack_up import RunningStack, admin, mirror_stage_up
from twin_clients import BusWatch, DecodeCache, Watcher, percentiles, watch_bus

from mirror_schema import codec, subjects
from mirror_schema.nats_credentials import credential_options

PROBES = 10
BUS_WATCHED = 100  # hosts whose samples the bench also reads off the bus
PROBE_WAIT_SECONDS = 10.0
SETTLE_LIMIT_SECONDS = 120.0
SETTLE_WITHOUT_CLIENT_SECONDS = 20.0
LOGIN_SECONDS = 60.0
DRAIN_LIMIT_SECONDS = 120.0
# struct tcp_info (linux/tcp.h): tcpi_bytes_received is the u64 at byte 128.
TCP_INFO_BYTES_RECEIVED = 128

# Python parts by their command line; the servers by their executable (a PostgreSQL backend's
# title names the service it serves).
PARTS: Sequence[tuple[str, str]] = (
    ("simulator", "mirror_agent simulate"),
    ("twin", "mirror_twin"),
    ("ingest", "mirror_ingest"),
    ("alerts", "mirror_alerts"),
    ("commands", "mirror_commands"),
    ("agent", "mirror_agent"),
)
SERVERS = {"nats-server": "nats", "postgres": "postgres"}


def socket_bytes_received(sock: socket.socket) -> int:
    """What the kernel has received on this TCP connection (payload bytes, after TLS/none)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    (received,) = struct.unpack_from("Q", info, TCP_INFO_BYTES_RECEIVED)
    return int(received)


@dataclass
class Client:
    """The logged-in browser client on /ws/twin."""

    watcher: Watcher = field(default_factory=Watcher)
    cache: DecodeCache = field(default_factory=DecodeCache)
    sock: socket.socket | None = None
    measuring: bool = False

    async def follow(self, url: str, cookie: str) -> None:
        async with websockets.connect(
            url,
            additional_headers={"Cookie": cookie},
            compression="deflate",
            max_size=None,
            ping_interval=None,
            proxy=None,
            close_timeout=2,
        ) as ws:
            self.sock = ws.transport.get_extra_info("socket")
            while True:
                raw = await ws.recv(decode=False)
                if self.watcher.receive(raw, time.time(), self.measuring, self.cache):
                    await ws.send("frame")


@dataclass
class Usage:
    """CPU seconds and peak RSS per part."""

    cpu: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)


def part_of(process: psutil.Process) -> str | None:
    try:
        if process.name() in SERVERS:
            return SERVERS[process.name()]
        line = " ".join(process.cmdline())
    except psutil.Error:
        return None
    return next((name for name, marker in PARTS if marker in line), None)


def usage(stack: RunningStack) -> Usage:
    found = Usage()
    for process in stack.descendants():
        name = part_of(process)
        if name is None:
            continue
        try:
            times = process.cpu_times()
            status = Path(f"/proc/{process.pid}/status").read_text()
        except (psutil.Error, OSError):
            continue
        found.cpu[name] = found.cpu.get(name, 0.0) + times.user + times.system
        peak = re.search(r"VmHWM:\s+(\d+) kB", status)
        if peak:
            found.peak_mib[name] = max(found.peak_mib.get(name, 0.0), int(peak[1]) / 1024)
    return found


def simulator(stack: RunningStack) -> psutil.Process:
    for process in stack.descendants():
        if part_of(process) == "simulator":
            return process
    raise RuntimeError("no simulator under the launcher")


async def metrics_last_seq(js: nats.js.JetStreamContext) -> int:
    return int((await js.stream_info("METRICS")).state.last_seq)


async def history_lag(js: nats.js.JetStreamContext) -> int:
    info = await js.consumer_info("METRICS", "history")
    return int(info.num_pending + info.num_ack_pending)


def simulator_account(log: Path) -> str:
    lines = [line for line in log.read_text().splitlines() if "simulator.stopped" in line]
    if not lines:
        return "the simulator logged no account at its stop"
    found = re.search(r"skipped_ticks=\d+ sent=\d+ buffered=\d+ dropped=\d+", lines[-1])
    return found[0] if found else lines[-1]


async def measure(hosts: int, args: argparse.Namespace) -> None:
    flags = ["--simulate", str(hosts), "--simulate-interval", f"{args.interval:g}"]
    if args.cluster:
        flags += ["--cluster", "3", "--replicas", "2"]
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        data_dir = Path(tmp) / "stack"
        async with mirror_stage_up(data_dir, *flags) as stack:
            password = one_time_password("\n".join(stack.lines))
            base = f"http://127.0.0.1:{stack.port('twin')}"
            began = time.monotonic()
            try:
                async with httpx.AsyncClient(base_url=base, timeout=LOGIN_SECONDS) as http:
                    cookie: str | None = await log_in(http, password)
                    # The alerts service's own API (the twin forwards no rule changes).
                    checked(
                        await http.post(
                            f"http://127.0.0.1:{stack.port('alerts')}/api/alerts/rules",
                            json=PROBE_RULE,
                            headers={"X-CSRF-Token": http.headers["X-CSRF-Token"]},
                        )
                    )
                login = f"login and password change took {time.monotonic() - began:.1f} s"
            except (httpx.HTTPError, RuntimeError) as exc:
                cookie = None
                login = (
                    f"LOGIN FAILED after {time.monotonic() - began:.1f} s: "
                    f"{type(exc).__name__} {exc}"
                )
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"], **credential_options(admin(data_dir), None)
            )
            client = Client()
            following = None
            if cookie is not None:
                url = f"ws{base[4:]}/ws/twin"
                following = asyncio.create_task(client.follow(url, cookie))
            try:
                if following is not None:
                    await settle(client, hosts, following)
                else:
                    await asyncio.sleep(SETTLE_WITHOUT_CLIENT_SECONDS)
                await window(hosts, args, stack, nc, client, login)
            finally:
                if following is not None:
                    following.cancel()
                    await asyncio.gather(following, return_exceptions=True)
                await nc.close()
        print(f"  simulator at its stop: {simulator_account(data_dir / 'logs' / 'simulator.log')}")


async def alert_delays(nc: nats.aio.client.Client, probes: int) -> array[float]:
    """Seconds from the sample on which PROBE_RULE's `for` elapsed to its firing AlertEvent,
    for `probes` hosts of their own (two samples each, 6 s apart), one a second."""
    arrived: dict[str, float] = {}
    fired = {f"probe-{n:03d}": asyncio.Event() for n in range(probes)}

    async def on_event(msg: Msg) -> None:
        event = codec.decode_alert_event(msg.data)
        if event.rule_id == PROBE_RULE["id"] and event.state == "firing" and event.host_id in fired:
            arrived.setdefault(event.host_id, time.perf_counter())
            fired[event.host_id].set()

    subscription = await nc.subscribe(subjects.ALERTS_EVENTS_ALL, cb=on_event)
    js = nc.jetstream()
    delays: array[float] = array("d")
    try:
        for host, event in fired.items():
            sent = 0.0
            for body in probe_samples(host, 1.0):
                sent = time.perf_counter()
                await js.publish(subjects.metrics_raw(host), body)
            try:
                async with asyncio.timeout(PROBE_WAIT_SECONDS):
                    await event.wait()
                delays.append(arrived[host] - sent)
            except TimeoutError:
                pass
            await asyncio.sleep(1)
    finally:
        await subscription.unsubscribe()
    return delays


async def settle(client: Client, hosts: int, following: asyncio.Task[None]) -> None:
    began = time.monotonic()
    while len(client.watcher.held) < hosts:
        if following.done():
            following.result()  # the socket's error
        if time.monotonic() - began > SETTLE_LIMIT_SECONDS:
            print(f"  settle cut: the client knew {len(client.watcher.held):,} of {hosts:,} hosts")
            return
        await asyncio.sleep(0.5)
    await asyncio.sleep(5)


async def window(
    hosts: int,
    args: argparse.Namespace,
    stack: RunningStack,
    nc: nats.aio.client.Client,
    client: Client,
    login: str,
) -> None:
    js = nc.jetstream()
    first_seq, first_bytes, first_use = (
        await metrics_last_seq(js),
        socket_bytes_received(client.sock) if client.sock else 0,
        usage(stack),
    )
    watched = await watch_bus(nc, hosts, BUS_WATCHED, client.watcher)
    began = time.monotonic()
    client.measuring = True
    probing = asyncio.create_task(alert_delays(nc, PROBES)) if client.sock else None
    await asyncio.sleep(args.seconds)
    client.measuring = False
    seconds = time.monotonic() - began
    for subscription in watched.subscriptions:
        await subscription.unsubscribe()
    last_seq, last_bytes, last_use = (
        await metrics_last_seq(js),
        socket_bytes_received(client.sock) if client.sock else 0,
        usage(stack),
    )
    lag = await history_lag(js)
    # The load stops: how long until the history holds every acknowledged sample.
    simulator(stack).send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    drained: float | None = None
    while time.monotonic() - stopped < DRAIN_LIMIT_SECONDS:
        if await history_lag(js) == 0:
            drained = time.monotonic() - stopped
            break
        await asyncio.sleep(0.05)
    simulator(stack).send_signal(signal.SIGCONT)
    report(hosts, args, seconds, last_seq - first_seq, last_bytes - first_bytes, client, watched)
    print(f"  {login}")
    if probing is None:
        print("  alert delay: not measured (no login to add the probes' rule)")
    else:
        delays = await probing
        print(
            f"  alert delay after `for` elapsed: {percentiles(delays)} "
            f"({len(delays)} of {PROBES} probes fired within {PROBE_WAIT_SECONDS:g} s)"
        )
    print(f"  history lag at the window's end {lag:,} samples; back to 0 ", end="")
    print(f"{drained:.2f} s after the load stopped" if drained is not None else "never (cut)")
    for name in sorted(last_use.cpu):
        share = (last_use.cpu[name] - first_use.cpu.get(name, 0.0)) / seconds
        print(
            f"  {name:<10} CPU {share * 100:6.1f} % of a core   "
            f"peak RSS {last_use.peak_mib.get(name, 0.0):7.1f} MiB"
        )


def report(
    hosts: int,
    args: argparse.Namespace,
    seconds: float,
    acknowledged: int,
    received: int,
    client: Client,
    watched: BusWatch,
) -> None:
    rate = hosts / args.interval
    latencies: array[float] = client.watcher.latencies
    cluster = " (cluster 3, replicas 2)" if args.cluster else ""
    print(f"{hosts:,} hosts at {args.interval:g} s{cluster}")
    print(
        f"  acknowledged {acknowledged / seconds:,.0f} samples/s of {rate:,.0f}/s sent "
        f"({acknowledged / seconds / rate * 100:.1f} %)"
    )
    if client.sock is None:
        print("  no client on the socket (no login)")
        return
    print(f"  sample to socket: {percentiles(latencies)} ({len(latencies):,} changes)")
    print(
        f"    of {BUS_WATCHED} hosts: sample to the bus (the simulator) "
        f"{percentiles(watched.latencies)}; the bus to the socket (the stack) "
        f"{percentiles(client.watcher.bus_latencies)}"
    )
    print(f"  socket: {received / seconds / 1000:,.1f} kB/s received (TCP, deflated frames)")


async def main(args: argparse.Namespace) -> None:
    for hosts in args.hosts:
        await measure(hosts, args)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hosts", type=int, nargs="+", default=[1000, 5000, 10000])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--cluster", action="store_true", help="--cluster 3 --replicas 2")
    return p.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parse()))
