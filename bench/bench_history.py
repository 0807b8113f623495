"""History writer throughput: NATS METRICS -> PostgreSQL rows/s, lag over time, zero loss.

    .venv/bin/python bench/bench_history.py [--samples 200000] [--hosts 1000]
        [--rate 10000] [--seconds 20] [--batch 1000]

Phase 1 pre-publishes --samples simulated samples, then starts the HistoryWriter and measures
rows/s until the stream is drained. Phase 2 publishes live at --rate for --seconds from a
separate process and reports how long after the load stops the lag returns to 0. Both check
rows == distinct samples. Prints figures; asserts nothing.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec
import nats
import nats.aio.client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_ingest.metrics import ROWS_WRITTEN
from mirror_ingest.migrations import migrate
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.writer import HistoryWriter
from mirror_schema import streams, subjects
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from servers import embedded_nats, embedded_postgres

INTERVAL = 5.0
PUBLISH_WINDOW = 5000


async def publish_ticks(
    nc: nats.aio.client.Client, fleet: SimulatedFleet, start: float, ticks: int, tag: str
) -> int:
    """Publish `ticks` ticks of the fleet as fast as JetStream acknowledges; return samples."""
    js = nc.jetstream()
    pending = []
    count = 0
    for k in range(ticks):
        for sample in fleet.tick(start + INTERVAL * k):
            host = sample.host_id or ""
            pending.append(
                await js.publish_async(
                    subjects.metrics_raw(host),
                    msgspec.json.encode(sample),
                    headers={"Nats-Msg-Id": f"{tag}:{host}:{sample.seq}:{sample.boot_id}"},
                )
            )
            count += 1
            if len(pending) >= PUBLISH_WINDOW:
                await asyncio.gather(*pending)
                pending.clear()
    await asyncio.gather(*pending)
    return count


async def publisher(
    url: str, hosts: int, rate: float, seconds: float, start: float, count_file: Path
) -> None:
    """Child process: pre-encode, then publish at `rate` per second for `seconds`."""
    fleet = SimulatedFleet(hosts, seed=2, run_token="live")
    ticks = int(rate * seconds / hosts)
    payloads = [
        (
            subjects.metrics_raw(s.host_id or ""),
            msgspec.json.encode(s),
            f"live:{s.host_id}:{s.boot_id}:{s.seq}",
        )
        for k in range(ticks)
        for s in fleet.tick(start + INTERVAL * k)
    ]
    nc = await nats.connect(url)
    js = nc.jetstream()
    print(f"publisher: {len(payloads)} samples ready", flush=True)
    began = time.monotonic()
    chunk = max(1, int(rate / 20))  # every 50 ms
    acks = []
    for i in range(0, len(payloads), chunk):
        target = began + i / rate
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        for subject, data, msg_id in payloads[i : i + chunk]:
            acks.append(await js.publish_async(subject, data, headers={"Nats-Msg-Id": msg_id}))
        if len(acks) > PUBLISH_WINDOW:
            await asyncio.gather(*acks)
            acks.clear()
    await asyncio.gather(*acks)
    elapsed = time.monotonic() - began
    print(f"publisher: {len(payloads)} in {elapsed:.1f} s = {len(payloads) / elapsed:,.0f}/s")
    await asyncio.to_thread(count_file.write_text, str(len(payloads)))
    await nc.close()


async def consumer_state(nc: nats.aio.client.Client) -> tuple[int, int]:
    info = await nc.jetstream().consumer_info(streams.METRICS.name, streams.CONSUMER_HISTORY)
    return info.num_pending or 0, info.num_ack_pending or 0


async def rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM metric_samples"))


async def watch_until_drained(
    nc: nats.aio.client.Client, began: float, *, until_idle_after: float = 0.0
) -> float:
    """Print lag every second until nothing is pending after `until_idle_after`; return when."""
    while True:
        await asyncio.sleep(1.0)
        pending, unacked = await consumer_state(nc)
        now = time.monotonic()
        written = ROWS_WRITTEN._value.get()
        print(
            f"  t={now - began:5.1f}s lag={pending:>7} unacked={unacked:>5} rows={written:>9,.0f}"
        )
        if pending == 0 and unacked == 0 and now >= until_idle_after:
            return now


async def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-history-"))
    (base / "nats").mkdir()
    (base / "pg").mkdir()
    async with (
        embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as ns,
        embedded_postgres(base / "pg") as pg,
    ):
        nc = await nats.connect(ns.url)
        await streams.ensure_streams(nc.jetstream())
        pool = await asyncpg.create_pool(pg.dsn, min_size=2, max_size=4)
        await migrate(pool)
        now = time.time()
        ticks = args.samples // args.hosts
        start = now - INTERVAL * ticks - 600
        await partitions.create_days(
            pool,
            {datetime.fromtimestamp(t, UTC).date() for t in (start, now)},
        )

        print(f"phase 1: pre-publishing {ticks} ticks x {args.hosts} hosts ...")
        t = time.monotonic()
        published = await publish_ticks(nc, SimulatedFleet(args.hosts, seed=1), start, ticks, "pre")
        print(f"  published {published:,} in {time.monotonic() - t:.1f} s")

        stop = asyncio.Event()
        writer = HistoryWriter(nc, pool, batch_size=args.batch)
        began = time.monotonic()
        task = asyncio.create_task(writer.run(stop))
        drained = await watch_until_drained(nc, began)
        written = await rows(pool)
        seconds = drained - began
        print(
            f"phase 1: {written:,} rows in {seconds:.1f} s = {written / seconds:,.0f} rows/s "
            f"(lag polled each second); rows == published: {written == published}"
        )

        print(f"phase 2: live load {args.rate:,.0f}/s for {args.seconds:.0f} s ...")
        loaded = time.monotonic()
        during = asyncio.create_task(watch_until_drained(nc, loaded, until_idle_after=float("inf")))
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--publisher",
            ns.url,
            "--hosts",
            str(args.hosts),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--start",
            str(time.time() - 300),
            "--count-file",
            str(base / "live-count"),
        )
        await child.wait()
        stopped = time.monotonic()
        during.cancel()
        print(f"  load stopped at t={stopped - loaded:.1f}s")
        drained = await watch_until_drained(nc, stopped)
        total = await rows(pool)
        live = total - written
        print(
            f"phase 2: {live:,} live rows; lag back to 0 {drained - stopped:.1f} s after the "
            f"load stopped (1 s polling); rows == distinct samples: "
            f"{total == published + int((base / 'live-count').read_text())}"
        )
        t = time.monotonic()
        left = await rollups.flush(pool)
        print(f"  rollups: {left} buckets still pending, flushed in {time.monotonic() - t:.2f} s")
        stop.set()
        await task
        await pool.close()
        await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--publisher", metavar="URL")
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--count-file", type=Path)
    arguments = parser.parse_args()
    if arguments.publisher:
        asyncio.run(
            publisher(
                arguments.publisher,
                arguments.hosts,
                arguments.rate,
                arguments.seconds,
                arguments.start,
                arguments.count_file,
            )
        )
    else:
        asyncio.run(main(arguments))
