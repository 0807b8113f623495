"""The alerts service as deployed: samples/s it evaluates, and the delay to an alert event.

    .venv/bin/python bench/bench_alerts_service.py [--hosts 10000] [--ticks 10]
        [--probes 200] [--background 1000] [--keep]

Real nats-server (JetStream synced every 100 ms, as the twin benches) and PostgreSQL
(tests/servers.py), `python -m mirror_alerts` with 50 rules (the 7 defaults and 43 more, as
bench_alerts_evaluator.py).

Throughput: every host's first sample is evaluated and snapshotted, the service is stopped,
--ticks more samples per host are published, and the service is started again: it replays the
backlog from its snapshot. Samples/s = samples evaluated / time from the first to the last
(its /metrics counter), with the service's CPU over that time.

Delay: while --background simulated hosts publish once a second (spread over the second, as
unsynchronised agents do), --probes hosts each cross a
`cpu_load > 90 for 5 s` rule: a sample at now - 6 s, then one at now, on which `for` has
elapsed. Delay = from publishing that second sample to the `firing` AlertEvent arriving on
alerts.events.<host> (one clock: everything runs on this machine). Prints figures next to the
targets; asserts nothing. --keep leaves the logs (and data) in the temp directory.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx
import msgspec
import nats
import nats.aio.client
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from alert_probes import PROBE_RULE, probe_samples
from bench_alerts_evaluator import fifty_rules
from process_cpu import cpu_by_part
from scratch import leave_scratch

from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_alerts.defaults import default_rules
from mirror_schema import codec, streams, subjects
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from mirror_stage.ports import free_port
from mirror_stage.supervisor import PartSpec, Supervised
from servers import embedded_nats, embedded_postgres, service_spec

TARGET_SAMPLES_PER_S = 10_000
TARGET_DELAY_MS = 100.0
INTERVAL = 1.0
PHASE_SECONDS = 300.0  # each phase stops here with what it measured


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


async def metric(http: httpx.AsyncClient, name: str) -> float:
    """A counter's value from the service's /metrics (0 before it is first counted)."""
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def details(http: httpx.AsyncClient) -> Mapping[str, object]:
    body: Mapping[str, Mapping[str, object]] = (await http.get("/api/health")).json()
    return body.get("details", {})


async def poll(check: Callable[[], Awaitable[bool]], every: float, limit: float) -> None:
    """Return once ``check()`` holds; TimeoutError after ``limit`` seconds."""
    async with asyncio.timeout(limit):
        while True:
            if await check():
                return
            await asyncio.sleep(every)


async def wait_leading(http: httpx.AsyncClient) -> None:
    async def leads() -> bool:
        return (await details(http)).get("role") == "leader"

    await poll(leads, 0.05, 60)


async def publish(nc: nats.aio.client.Client, samples: list[object]) -> int:
    """Publish samples (MetricSample) to METRICS in windows, each awaited for its acks."""
    js = nc.jetstream()
    sent = 0
    window = 2000
    for start in range(0, len(samples), window):
        acks = [
            await js.publish_async(e.subject, e.payload, headers={"Nats-Msg-Id": e.msg_id})
            for e in map(envelope_of, samples[start : start + window])  # type: ignore[arg-type]
        ]
        await asyncio.gather(*acks)
        sent += len(acks)
    return sent


PARTS = (("alerts", "mirror_alerts"), ("nats", "nats-server"), ("postgres", "postgres"))


async def throughput(
    nc: nats.aio.client.Client, spec: PartSpec, http: httpx.AsyncClient, hosts: int, ticks: int
) -> None:
    fleet = SimulatedFleet(hosts, 11, interval=INTERVAL)
    start = time.time() - (ticks + 1) * INTERVAL
    service = Supervised(spec)
    await service.start()
    await wait_leading(http)
    for rule in fifty_rules(hosts)[len(default_rules()) :]:
        answer = await http.post("/api/alerts/rules", content=msgspec.json.encode(rule))
        answer.raise_for_status()
    first = await publish(nc, fleet.tick(start))  # type: ignore[arg-type]

    async def all_evaluated() -> bool:
        return await metric(http, "mirror_alerts_samples_evaluated_total") >= first

    await poll(all_evaluated, 0.1, PHASE_SECONDS)
    await service.stop()  # saves its snapshot with the position
    backlog: list[object] = []
    for k in range(1, ticks + 1):
        backlog += fleet.tick(start + k * INTERVAL)
    published = await publish(nc, backlog)
    service = Supervised(spec)
    parts_before = cpu_by_part(PARTS)
    began = time.perf_counter()
    await service.start()
    first_seen = last_seen = half_seen = None
    half_count = 0.0
    seen = 0.0
    async with asyncio.timeout(PHASE_SECONDS):
        while seen < published:
            await asyncio.sleep(0.05)
            seen = await metric(http, "mirror_alerts_samples_evaluated_total")
            now = time.perf_counter()
            if seen > 0 and first_seen is None:
                first_seen = now
            if seen >= published / 2 and half_seen is None:
                half_seen, half_count = now, seen
            last_seen = now
    parts_after = cpu_by_part(PARTS)
    assert first_seen is not None
    assert last_seen is not None
    wall = max(last_seen - first_seen, 1e-3)
    info = await details(http)
    print(f"throughput: {hosts:,} hosts, 50 rules, {published:,} samples replayed")
    print(
        f"  {published / wall:,.0f} samples/s through the service "
        f"(restart to first evaluated {first_seen - began:.2f} s, replay {wall:.2f} s)"
    )
    if half_seen is not None and last_seen > half_seen:
        # The first ticks fire most alerts (a storm of stores and publishes); the later half
        # is closer to a fleet's steady state.
        rate = (published - half_count) / (last_seen - half_seen)
        print(f"  {rate:,.0f} samples/s over the second half of the backlog")
    span = last_seen - began
    shares = [
        f"{name} {100 * (parts_after.get(name, 0.0) - parts_before.get(name, 0.0)) / span:.0f}%"
        for name in ("alerts", "postgres", "nats", "bench")
    ]
    print(f"  CPU from restart to caught up (100% = one core): {', '.join(shares)}")
    print(f"  {info.get('open_alerts')} alerts open after the replay")
    print(f"  target: at least {TARGET_SAMPLES_PER_S:,} samples/s on one core")
    await service.stop()


async def delay(
    nc: nats.aio.client.Client,
    spec: PartSpec,
    http: httpx.AsyncClient,
    probes: int,
    background: int,
) -> None:
    service = Supervised(spec)
    await service.start()
    await wait_leading(http)
    (await http.post("/api/alerts/rules", json=PROBE_RULE)).raise_for_status()
    fleet = SimulatedFleet(background, 23, interval=INTERVAL, prefix="bg")
    stop = asyncio.Event()

    async def load() -> None:
        # Agents are not synchronised: each tick's samples go out in 10 slices over the second.
        slices = 10
        while not stop.is_set():
            tick_began = time.time()
            samples: list[object] = list(fleet.tick(tick_began))
            size = -(-len(samples) // slices)
            for k in range(slices):
                await publish(nc, samples[k * size : (k + 1) * size])
                pause = tick_began + INTERVAL * (k + 1) / slices - time.time()
                await asyncio.sleep(max(0.0, pause))

    arrived: dict[str, float] = {}
    arrival = {f"probe-{i:04d}": asyncio.Event() for i in range(probes)}

    async def on_event(msg: Msg) -> None:
        event = codec.decode_alert_event(msg.data)
        if event.rule_id == PROBE_RULE["id"] and event.state == "firing":
            arrived.setdefault(event.host_id, time.perf_counter())
            arrival[event.host_id].set()

    subscription = await nc.subscribe(subjects.ALERTS_EVENTS_ALL, cb=on_event)
    loading = asyncio.create_task(load())
    js = nc.jetstream()
    delays: list[float] = []
    try:
        await asyncio.sleep(3 * INTERVAL)  # background load running, the service caught up
        for i in range(probes):
            host = f"probe-{i:04d}"
            for body in probe_samples(host, INTERVAL):
                sent = time.perf_counter()
                await js.publish(subjects.metrics_raw(host), body)
            async with asyncio.timeout(10):
                await arrival[host].wait()
            delays.append((arrived[host] - sent) * 1000)
            await asyncio.sleep(0.05)  # 20 probes a second, beside the background
    finally:
        stop.set()
        await loading
        await subscription.unsubscribe()
        await service.stop()
    print(f"delay: {probes} probes beside {background:,} hosts publishing every {INTERVAL:g} s")
    print(
        f"  sample on which `for` elapsed -> firing AlertEvent: p50 {percentile(delays, 0.5):.1f}"
        f" ms, p95 {percentile(delays, 0.95):.1f} ms, p99 {percentile(delays, 0.99):.1f} ms, "
        f"max {max(delays):.1f} ms"
    )
    print(f"  target: under {TARGET_DELAY_MS:.0f} ms after `for` elapses")


async def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    (base / "nats").mkdir()
    (base / "pg").mkdir()
    try:
        async with (
            embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as ns,
            embedded_postgres(base / "pg") as pg,
        ):
            nc = await nats.connect(ns.url)
            await streams.ensure_streams(nc.jetstream())
            port = free_port()
            env = {"MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS": "0"}
            spec = service_spec(
                "alerts",
                log_path=base / "alerts.log",
                nats_url=ns.url,
                port=port,
                db_url=pg.dsn,
                env=env,
            )
            try:
                async with httpx.AsyncClient(base_url=spec.address, timeout=10) as http:
                    # The delay first: after the throughput phase its 10,000 hosts fall
                    # silent and fire their offline alerts all at once, a storm of its own.
                    if not args.skip_delay:
                        await delay(nc, spec, http, args.probes, args.background)
                    if not args.skip_throughput:
                        await throughput(nc, spec, http, args.hosts, args.ticks)
            finally:
                await nc.close()
    finally:
        leave_scratch(base, keep=args.keep)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--background", type=int, default=1000)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-delay", action="store_true")
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
