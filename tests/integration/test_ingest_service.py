"""`python -m mirror_ingest` as deployed: HTTP in, PostgreSQL out, through NATS, and a kill -9."""

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import nats

from loopback_ports import free_port
from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_stage.supervisor import Supervised
from servers import ingest_spec
from waiting import wait_until

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "original-agent-payload.json"


async def count_rows(db_url: str, host: str | None = None) -> tuple[int, int]:
    """(rows, distinct (host, ts)) in the raw history."""
    connection = await asyncpg.connect(db_url)
    try:
        where = "WHERE host_id = $1" if host else ""
        args = [host] if host else []
        row = await connection.fetchrow(
            f"SELECT count(*) AS n, count(DISTINCT (host_id, ts)) AS d FROM metric_samples {where}",
            *args,
        )
        assert row is not None
        return int(row["n"]), int(row["d"])
    finally:
        await connection.close()


async def test_the_reference_payload_posted_lands_once_in_history(
    own_nats: str, database: str, tmp_path: Path
) -> None:
    """The original agent's payload, posted twice, is one row; the API charts it."""
    port = free_port()
    ingest = Supervised(ingest_spec(tmp_path, own_nats, database, port))
    await ingest.start()
    try:
        sample = msgspec.json.decode(REFERENCE.read_bytes())
        # Today's timestamp: the ingest refuses samples older than the stream keeps.
        sample["timestamp"] = datetime.now(UTC).isoformat()
        body = msgspec.json.encode({"samples": [sample]})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(2):
                answer = await client.post("/api/metrics/batch", content=body)
                assert answer.status_code == 202, answer.text
                assert answer.json()["accepted"] == 1

            async def stored() -> bool:
                return (await count_rows(database, "vm"))[0] >= 1

            await wait_until(stored, timeout=30, what="the sample's row")
            history = (await client.get("/api/metrics/history", params={"host": "vm"})).json()
            assert history["host"] == "vm"
            assert [p["cpu_load"] for p in history["points"]] == [50.0]
            hosts = (await client.get("/api/hosts")).json()["hosts"]
            assert [h["host_id"] for h in hosts] == ["vm"]
            health = (await client.get("/api/health")).json()
            assert health["status"] == "ok"
            assert health["db"] == "connected"
            assert "history_consumer_lag" in health["details"]
            metrics = (await client.get("/metrics")).text
            assert "mirror_ingest_samples_accepted_total 2.0" in metrics
        assert await count_rows(database, "vm") == (1, 1)
    finally:
        await ingest.stop()


async def test_a_killed_writer_resumes_without_losing_or_duplicating(
    own_nats: str, database: str, tmp_path: Path
) -> None:
    """SIGKILL of the ingest while it writes, then a restart: rows = samples, no duplicate."""
    nc = await nats.connect(own_nats)
    js = nc.jetstream()
    await streams.ensure_streams(js)
    fleet = SimulatedFleet(100, 7, interval=5.0, prefix=f"kill{free_port()}")
    start = datetime.now(UTC).timestamp() - 3600
    published = 0
    for tick in range(60):  # 6,000 samples over the last hour
        acks = [
            await js.publish_async(e.subject, e.payload, headers={"Nats-Msg-Id": e.msg_id})
            for e in map(envelope_of, fleet.tick(start + 5 * tick))
        ]
        await asyncio.gather(*acks)
        published += len(acks)
    await nc.close()

    port = free_port()
    spec = ingest_spec(tmp_path, own_nats, database, port)
    ingest = Supervised(spec)
    await ingest.start()

    async def some_written() -> bool:
        return (await count_rows(database))[0] > 0

    await wait_until(some_written, timeout=30, what="the first rows")
    assert ingest.process is not None
    os.kill(ingest.process.pid, signal.SIGKILL)
    await ingest.process.wait()
    rows_at_kill = (await count_rows(database))[0]

    again = Supervised(spec)
    await again.start()
    try:

        async def all_written() -> bool:
            return (await count_rows(database))[0] >= published

        await wait_until(all_written, timeout=60, what=f"{published} rows")
        rows, distinct = await count_rows(database)
        assert rows == distinct == published
        assert rows_at_kill <= published
    finally:
        await again.stop()
