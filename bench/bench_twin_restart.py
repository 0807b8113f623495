"""A twin replica restarted with many hosts: how soon its first state holds them all again.

    .venv/bin/python bench/bench_twin_restart.py [--hosts 10000]

Publishes two ticks of a simulated fleet, runs `python -m mirror_twin` until its checkpoint
holds every host, stops it, publishes one more tick (what it missed while down) and starts it
again. Prints the time from the restart to health, to a GET /api/twin/state holding every host,
and to the state holding the tick published while it was down; also the checkpoint's size.
Asserts nothing; bounded by --timeout for each wait.
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import nats
import nats.js.errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from bench_history import publish_ticks
from twin_helpers import twin_spec

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_stage.natsd import BENCH_SYNC_INTERVAL
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised
from mirror_twin.checkpoint import BUCKET, POSITION_KEY
from servers import embedded_nats


class _Host(msgspec.Struct):
    host_id: str
    last_seen: str | None = None


class _State(msgspec.Struct):
    hosts: list[_Host]


_decode_state = msgspec.json.Decoder(_State).decode


async def state_hosts(http: httpx.AsyncClient) -> dict[str, str | None]:
    state = _decode_state((await http.get("/api/twin/state")).content)
    return {host.host_id: host.last_seen for host in state.hosts}


async def wait_for(check: Callable[[], Awaitable[bool]], limit_seconds: float) -> float:
    """Seconds until `check()` is true, polling every 0.2 s (a state of 10,000 hosts is big)."""
    began = time.perf_counter()
    async with asyncio.timeout(limit_seconds):
        while True:
            if await check():
                return time.perf_counter() - began
            await asyncio.sleep(0.2)


async def saved_seq(nc: nats.aio.client.Client) -> int | None:
    try:
        entry = await (await nc.jetstream().key_value(BUCKET)).get(POSITION_KEY)
    except (nats.js.errors.KeyNotFoundError, nats.js.errors.BucketNotFoundError):
        return None
    return int(msgspec.json.decode(entry.value or b"{}")["stream_seq"])


async def measure(hosts: int, limit_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as base_dir:
        base = Path(base_dir)
        (base / "nats").mkdir()
        async with embedded_nats(base / "nats", sync_interval=BENCH_SYNC_INTERVAL) as ns:
            nc = await nats.connect(ns.url)
            js = nc.jetstream()
            await streams.ensure_streams(js)
            fleet = SimulatedFleet(hosts, seed=5, run_token="restart")
            start = datetime.now(UTC).timestamp() - 60
            await publish_ticks(nc, fleet, start, 1, "a")
            env = {"MIRROR_STAGE_TWIN_CHECKPOINT_SECONDS": "1"}
            port = free_port()
            twin = Supervised(twin_spec(ns.url, base / "twin-1.log", port, env))
            await twin.start()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                await publish_ticks(nc, fleet, start + 10, 1, "b")
                last_seq = (await js.stream_info(streams.METRICS.name)).state.last_seq

                async def checkpointed() -> bool:
                    return await saved_seq(nc) == last_seq

                await wait_for(checkpointed, limit_seconds)
                known = len(await state_hosts(http))
            began = time.perf_counter()
            await twin.stop()
            stop_seconds = time.perf_counter() - began
            bucket = await js.stream_info(f"KV_{BUCKET}")
            missed = fleet.tick(start + 20)
            await publish_ticks(nc, fleet, start + 20, 1, "c")
            wanted = {s.host_id or "": s.timestamp for s in missed}

            port = free_port()
            twin = Supervised(twin_spec(ns.url, base / "twin-2.log", port, env))
            began = time.perf_counter()
            await twin.start()
            healthy = time.perf_counter() - began
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", timeout=30
                ) as http:

                    async def all_known() -> bool:
                        return len(await state_hosts(http)) >= known

                    async def caught_up() -> bool:
                        seen = await state_hosts(http)
                        return all(
                            seen.get(host) is not None
                            and datetime.fromisoformat(seen[host] or "") >= at
                            for host, at in wanted.items()
                        )

                    await wait_for(all_known, limit_seconds)
                    first_state = time.perf_counter() - began
                    await wait_for(caught_up, limit_seconds)
                    resumed = time.perf_counter() - began
            finally:
                await twin.stop()
            await nc.close()
            resuming = next(
                json.loads(line)
                for line in (base / "twin-2.log").read_text().splitlines()
                if '"twin.resuming"' in line
            )
    print(f"hosts                                  {hosts}")
    print(f"hosts known before the restart         {known}")
    print(f"checkpoint bucket                      {bucket.state.bytes / 2**20:.1f} MiB")
    print(f"stop (SIGTERM to exit, last save)      {stop_seconds:.2f} s")
    print(f"twin: checkpoint loaded                {resuming['load_seconds']:.2f} s")
    print(f"twin: hosts restored                   {resuming['restore_seconds']:.2f} s")
    print(f"restart to healthy                     {healthy:.2f} s")
    print(f"restart to a state with every host     {first_state:.2f} s")
    print(f"restart to the tick missed while down  {resumed:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    asyncio.run(measure(args.hosts, args.timeout))


if __name__ == "__main__":
    main()
