"""The ingest service as deployed (uvloop, its own process) draining a METRICS backlog.

    .venv/bin/python bench/bench_ingest_service.py [--samples 200000] [--hosts 1000]

Pre-publishes simulated samples to METRICS, then starts `python -m mirror_ingest` and reports
rows/s until the history holds every sample (zero loss checked by counting rows). Asserts
nothing. bench_history.py measures the writer in-process on the default event loop.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_history import INTERVAL, publish_ticks
from bench_ingest_http import bench_ingest_spec

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised
from servers import embedded_nats, embedded_postgres


async def measure(samples: int, hosts: int) -> None:
    with tempfile.TemporaryDirectory() as base_dir:
        base = Path(base_dir)
        (base / "nats").mkdir()
        (base / "pg").mkdir()
        async with (
            embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as ns,
            embedded_postgres(base / "pg") as pg,
        ):
            nc = await nats.connect(ns.url)
            await streams.ensure_streams(nc.jetstream())
            fleet = SimulatedFleet(hosts, seed=4, run_token="svc")
            start = datetime.now(UTC).timestamp() - INTERVAL * (samples // hosts + 1)
            published = await publish_ticks(nc, fleet, start, samples // hosts, "svc")
            await nc.close()
            ingest = Supervised(bench_ingest_spec(base, ns.url, pg.dsn, free_port()))
            began = time.monotonic()
            await ingest.start()
            connection = await asyncpg.connect(pg.dsn)
            try:
                written = 0
                while written < published and time.monotonic() - began < 300:
                    await asyncio.sleep(0.5)
                    written = int(await connection.fetchval("SELECT count(*) FROM metric_samples"))
                elapsed = time.monotonic() - began
            finally:
                await connection.close()
                await ingest.stop()
    print(
        f"ingest service drained {written:,} of {published:,} samples in {elapsed:.1f} s "
        f"(start-up included) = {written / elapsed:,.0f} rows/s; zero loss: {written == published}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--hosts", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(measure(args.samples, args.hosts))


if __name__ == "__main__":
    main()
