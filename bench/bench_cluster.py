"""Scale-out: `mirror-stage up --cluster 3 --replicas 2` under sustained load, and faults.

    .venv/bin/python bench/bench_cluster.py [--seconds 20] [--hosts 1000] [--publishers 64]

Runs the stack with three nats-server nodes (every stream at 3 replicas, every write synced
before it is acknowledged) and two processes of each service, then:
1. publishes samples of --hosts hosts as fast as --publishers concurrent publishers get
   acknowledgements, for --seconds: acknowledged host-samples/s;
2. waits for the two history writers: rows written = samples acknowledged (zero loss, no
   duplicate), and how long after the last acknowledgement;
3. faults under the same load, one at a time: one history writer killed (SIGKILL), one NATS
   node killed (SIGKILL), PostgreSQL frozen for 20 s (SIGSTOP). For each: the longest gap
   between two acknowledgements, the time from the fault's end until the history holds every
   acknowledged sample, and the loss (which must be 0).
Asserts nothing; prints figures. Loopback only; every phase bounded in time.
"""

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec
import nats
import nats.errors
import nats.js.errors
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from test_launcher import RunningStack, mirror_stage_up, service_process

from mirror_schema import subjects
from mirror_stage.operators import database_url_path
from mirror_stage.postgres import postgres_account, postgres_root
from mirror_stage.stack_layout import stack_layout

CATCH_UP_LIMIT_SECONDS = 300.0


class Load:
    """Publishers of samples for `hosts` hosts; counts acknowledgements and their gaps."""

    def __init__(self, js: nats.js.JetStreamContext, hosts: int) -> None:
        self.js = js
        self.hosts = [f"bench-{n:05d}" for n in range(hosts)]
        self.next_seq = 0
        self.acked = 0
        self.last_ack = time.monotonic()
        self.longest_gap = 0.0
        self.start = datetime.now(UTC) - timedelta(hours=1)

    def _sample(self, seq: int) -> tuple[str, str, bytes]:
        host = self.hosts[seq % len(self.hosts)]
        at = self.start + timedelta(milliseconds=seq)
        body = msgspec.json.encode(
            {
                "hostname": host,
                "host_id": host,
                "boot_id": "bench",
                "seq": seq,
                "interval_seconds": 1.0,
                "timestamp": at.isoformat(),
                "cpu_load": float(seq % 100),
                "memory_used_percent": 50.0,
            }
        )
        return host, f"{host}:bench:{seq}", body

    async def publisher(self, until: float) -> None:
        while time.monotonic() < until:
            seq = self.next_seq = self.next_seq + 1
            host, msg_id, body = self._sample(seq)
            while True:  # bounded by the caller's deadline below
                try:
                    await self.js.publish(
                        subjects.metrics_raw(host), body, headers={"Nats-Msg-Id": msg_id}, timeout=2
                    )
                    break
                except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
                    if time.monotonic() > until + 60:
                        raise
                    await asyncio.sleep(0.1)
            now = time.monotonic()
            self.longest_gap = max(self.longest_gap, now - self.last_ack)
            self.last_ack = now
            self.acked += 1

    async def run(self, seconds: float, publishers: int) -> float:
        """Publish for `seconds`; acknowledged samples/s."""
        begun = time.monotonic()
        before = self.acked
        self.last_ack = begun
        self.longest_gap = 0.0
        await asyncio.gather(*(self.publisher(begun + seconds) for _ in range(publishers)))
        return (self.acked - before) / (time.monotonic() - begun)


async def rows(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM metric_samples WHERE host_id LIKE 'bench-%'"
        )
    finally:
        await connection.close()
    return int(count)


async def caught_up(database_url: str, expected: int) -> float:
    """Seconds until the history holds `expected` bench rows (bounded)."""
    begun = time.monotonic()
    while time.monotonic() - begun < CATCH_UP_LIMIT_SECONDS:
        if await rows(database_url) >= expected:
            return time.monotonic() - begun
        await asyncio.sleep(0.2)
    return float("inf")


def node(stack: RunningStack, name: str) -> psutil.Process:
    for child in stack.descendants():
        if any(arg.endswith(f"/{name}.conf") for arg in child.cmdline()):
            return child
    raise RuntimeError(f"no {name}")


async def measure(seconds: float, hosts: int, publishers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as temporary:
        data_dir = Path(temporary) / "stage"
        async with mirror_stage_up(
            data_dir, "--cluster", "3", "--replicas", "2", "--no-agent"
        ) as stack:
            nodes = [line.split()[1] for line in stack.lines if line.startswith("  nats")]
            database_url = (
                database_url_path(stack_layout({}, data_dir=data_dir, log_format="json"))
                .read_text()
                .strip()
            )
            nc = await nats.connect(
                nodes,
                nkeys_seed=str(data_dir / "identities" / "admin.nk"),
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.2,
            )
            load = Load(nc.jetstream(), hosts)
            print(f"3 nats nodes (streams R3, sync always), 2 of each service, {hosts} hosts")
            rate = await load.run(seconds, publishers)
            settle = await caught_up(database_url, load.acked)
            written = await rows(database_url)
            print(
                f"sustained: {rate:,.0f} host-samples/s acknowledged over {seconds:g} s "
                f"({publishers} publishers); history caught up {settle:.1f} s after the last; "
                f"rows {written:,} for {load.acked:,} acknowledged (loss {load.acked - written})"
            )

            async def kill_writer() -> None:
                service_process(stack, "ingest").send_signal(signal.SIGKILL)

            async def kill_node() -> None:
                node(stack, "nats-2").send_signal(signal.SIGKILL)

            frozen: list[psutil.Process] = []

            async def freeze_database() -> None:
                frozen[:] = [p for p in stack.descendants() if p.name() == "postgres"]
                for process in frozen:
                    process.send_signal(signal.SIGSTOP)
                await asyncio.sleep(20)
                for process in frozen:
                    process.send_signal(signal.SIGCONT)

            faults: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("history writer killed", kill_writer),
                ("nats node killed", kill_node),
                ("PostgreSQL frozen 20 s", freeze_database),
            ]
            for name, fault in faults:
                publishing = asyncio.create_task(load.run(max(seconds, 25), publishers))
                await asyncio.sleep(2)
                await fault()
                ended = time.monotonic()
                rate = await publishing
                settle = await caught_up(database_url, load.acked)
                recovered = time.monotonic() - ended
                written = await rows(database_url)
                print(
                    f"{name}: {rate:,.0f} samples/s during; longest gap between "
                    f"acknowledgements {load.longest_gap:.2f} s; history complete "
                    f"{recovered:.1f} s after the fault ended ({settle:.1f} s after the load); "
                    f"loss {load.acked - written}"
                )
            await nc.close()
        root = postgres_root(data_dir, postgres_account())
        if not root.is_relative_to(Path(temporary)):
            shutil.rmtree(root, ignore_errors=True)  # kept elsewhere when run as root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(measure(args.seconds, args.hosts, args.publishers))


if __name__ == "__main__":
    main()
