"""HTTP ingest throughput with zero loss: POST /api/metrics/batch -> NATS -> PostgreSQL rows.

    .venv/bin/python bench/bench_ingest_http.py [--seconds 15] [--clients 8] [--batch 1 50]

Starts nats-server, PostgreSQL and `python -m mirror_ingest` as in production, posts
pre-encoded batches of simulated samples (distinct hosts, so the per-host rate limit does not
bite) from --clients concurrent keep-alive connections for --seconds, then waits until the
history holds every accepted sample and prints samples/s. Asserts nothing.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from mirror_stage.ports import free_port
from mirror_stage.supervisor import PartSpec, Supervised
from servers import embedded_nats, embedded_postgres, ingest_spec

HOSTS = 20_000
INTERVAL = 5.0


def bodies(batch: int, count: int) -> list[bytes]:
    """`count` batch bodies of `batch` samples each, every sample a distinct (host, time)."""
    fleet = SimulatedFleet(HOSTS, 3, interval=INTERVAL, prefix=f"http{batch}")
    start = datetime.now(UTC).timestamp() - 1800
    samples: list[object] = []
    tick = 0
    while len(samples) < batch * count:
        samples += fleet.tick(start + INTERVAL * tick)
        tick += 1
    return [
        msgspec.json.encode({"samples": samples[i * batch : (i + 1) * batch]}) for i in range(count)
    ]


def bench_ingest_spec(base: Path, nats_url: str, db_url: str, port: int) -> PartSpec:
    """The ingest with a per-host limit out of the way: the bench measures throughput."""
    unlimited = {
        "MIRROR_STAGE_INGEST_HOST_RATE": "1000000",
        "MIRROR_STAGE_INGEST_HOST_BURST": "1000000",
    }
    return ingest_spec(base, nats_url, db_url, port, unlimited)


async def post_for(port: int, work: list[bytes], seconds: float, clients: int) -> tuple[int, int]:
    """Post bodies over `clients` keep-alive connections for `seconds`; (accepted, errors).

    A few lines of raw HTTP/1.1 instead of an HTTP library: on two cores the client shares the
    CPU with the server, and httpx alone would cap the figure near 500 requests/s.
    """
    accepted = errors = 0
    deadline = time.monotonic() + seconds
    queue = iter(work)

    async def client() -> None:
        nonlocal accepted, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                body = next(queue, None)
                if body is None:
                    return
                writer.write(
                    b"POST /api/metrics/batch HTTP/1.1\r\nHost: bench\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body
                )
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                answer = await reader.readexactly(length)
                if b" 202 " in status_line:
                    accepted += msgspec.json.decode(answer)["accepted"]
                else:
                    errors += 1
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(client() for _ in range(clients)))
    return accepted, errors


async def rows(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM metric_samples"))
    finally:
        await connection.close()


async def one_run(batch: int, seconds: float, clients: int) -> None:
    # More than the run can post: it ends by time, not by running out of work.
    work = bodies(batch, 150_000 // batch if batch > 1 else 40_000)
    with tempfile.TemporaryDirectory() as base_dir:
        base = Path(base_dir)
        (base / "nats").mkdir()
        (base / "pg").mkdir()
        async with (
            embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as nats_server,
            embedded_postgres(base / "pg") as pg,
        ):
            port = free_port()
            ingest = Supervised(bench_ingest_spec(base, nats_server.url, pg.dsn, port))
            await ingest.start()
            try:
                began = time.monotonic()
                accepted, errors = await post_for(port, work, seconds, clients)
                elapsed = time.monotonic() - began
                posted_at = time.monotonic()
                # Polling: PostgreSQL has no event to wait on here.
                while await rows(pg.dsn) < accepted and time.monotonic() - posted_at < 120:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                stored = await rows(pg.dsn)
                drained = time.monotonic() - posted_at
            finally:
                await ingest.stop()
    print(
        f"batch {batch:>3}: {accepted / elapsed:,.0f} samples/s accepted over HTTP "
        f"({accepted:,} in {elapsed:.1f} s, {clients} clients, {errors} errors); "
        f"rows {stored:,} = accepted: {stored == accepted} ({drained:.1f} s after the last post)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 50])
    args = parser.parse_args()
    for batch in args.batch:
        asyncio.run(one_run(batch, args.seconds, args.clients))


if __name__ == "__main__":
    main()
