"""`mirror-stage up --cluster 3 --replicas 2`: three nats-server nodes clustered on loopback,
every stream and the twin's buckets at three replicas, two processes of each service (one twin
writing the checkpoint); a node killed with SIGKILL under load loses no acknowledged sample,
publishing carries on, and the launcher brings the node back."""

import asyncio
import glob
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import nats.errors
import nats.js.errors
import psutil
from stack_up import (
    RunningStack,
    admin,
    bus_violations,
    mirror_stage_up,
)

from mirror_schema import streams, subjects
from mirror_stage.operators import database_url_path
from mirror_stage.stack_layout import stack_layout
from waiting import wait_until

HOST = "cluster-load"
SAMPLES = 600  # published one after another, a node killed halfway
PUBLISH_ATTEMPTS = 40  # per sample, 0.25 s apart: rides out a node's death and an election
PARTS = ("twin", "ingest", "alerts", "commands")


def node_process(stack: RunningStack, node: str) -> psutil.Process:
    """The nats-server of node `node` (nats, nats-2, nats-3): its config is DATA/<node>.conf."""
    for child in stack.descendants():
        try:
            if any(arg.endswith(f"/{node}.conf") for arg in child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no nats-server for {node} among {stack.descendants()}")


def sample(seq: int, start: datetime) -> bytes:
    return msgspec.json.encode(
        {
            "hostname": HOST,
            "host_id": HOST,
            "boot_id": "cluster-test",
            "seq": seq,
            "interval_seconds": 1.0,
            "timestamp": (start + timedelta(milliseconds=10 * seq)).isoformat(),
            "cpu_load": float(seq % 100),
            "memory_used_percent": 40.0,
        }
    )


async def publish(js: nats.js.JetStreamContext, seq: int, start: datetime) -> None:
    """Publish one sample until JetStream acknowledges it (its id deduplicates a retry)."""
    for _ in range(PUBLISH_ATTEMPTS):
        try:
            await js.publish(
                subjects.metrics_raw(HOST),
                sample(seq, start),
                headers={"Nats-Msg-Id": f"{HOST}:cluster-test:{seq}"},
                timeout=2,
            )
            return
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
            await asyncio.sleep(0.25)
    raise AssertionError(f"sample {seq} was never acknowledged")


async def test_a_three_node_cluster_keeps_every_acknowledged_sample_through_a_killed_node(
    data_dir: Path,
) -> None:
    async with mirror_stage_up(
        data_dir, "--cluster", "3", "--replicas", "2", "--no-agent"
    ) as stack:
        announced = {line.split()[0] for line in stack.lines if line.startswith("  ")}
        expected = {"nats", "nats-2", "nats-3", *PARTS, *(f"{part}-2" for part in PARTS)}
        assert expected <= announced, stack.lines
        nodes = [line.split()[1] for line in stack.lines if line.startswith("  nats")]
        assert len(nodes) == 3, stack.lines
        nc = await nats.connect(nodes, nkeys_seed=admin(data_dir), max_reconnect_attempts=-1)
        try:
            js = nc.jetstream()
            # The services started after the launcher made the streams: none undid the copies.
            for spec in streams.STREAMS:
                info = await js.stream_info(spec.name)
                assert info.config.num_replicas == 3, spec.name
            for bucket in ("KV_twin_checkpoint", "KV_twin_placements"):
                assert (await js.stream_info(bucket)).config.num_replicas == 3, bucket

            # One twin replica writes the checkpoint, the other stands by.
            addresses = {
                line.split()[0]: line.split()[1] for line in stack.lines if line.startswith("  ")
            }

            async def one_writer() -> bool:
                roles = []
                async with httpx.AsyncClient(timeout=10) as http:
                    for twin in ("twin", "twin-2"):
                        body = (await http.get(f"{addresses[twin]}/api/health")).json()
                        roles.append(body["details"].get("checkpoint"))
                return sorted(roles) == ["standby", "writer"]

            await wait_until(one_writer, timeout=30, what="one twin writing the checkpoint")
            writer_bucket = f"KV_{streams.BUCKET_TWIN_CHECKPOINT_WRITER}"
            assert (await js.stream_info(writer_bucket)).config.num_replicas == 3

            # What a service's health says of the cluster: three nodes, every stream's three
            # replicas current.
            health = await service_health(stack, "twin")
            assert health["cluster"]["nodes"] == 3, health
            for stream in health["cluster"]["streams"]:
                assert (stream["replicas"], stream["current"]) == (3, 3), stream

            start = datetime.now(UTC) - timedelta(minutes=5)
            victim = node_process(stack, "nats-2")
            for seq in range(1, SAMPLES + 1):
                if seq == SAMPLES // 2:
                    victim.send_signal(signal.SIGKILL)
                await publish(js, seq, start)

            async def back() -> bool:
                try:
                    return node_process(stack, "nats-2").pid != victim.pid
                except AssertionError:
                    return False

            await wait_until(back, timeout=60, what="the launcher to restart nats-2")

            async def caught_up() -> bool:
                cluster = (await service_health(stack, "twin"))["cluster"]
                return all(s["current"] == 3 for s in cluster["streams"])

            await wait_until(caught_up, timeout=60, what="the restarted node to catch up")
            info = await js.stream_info(
                streams.METRICS.name, subjects_filter=subjects.metrics_raw(HOST)
            )
            assert info.state.subjects == {subjects.metrics_raw(HOST): SAMPLES}
        finally:
            await nc.close()

        layout = stack_layout({}, data_dir=data_dir, log_format="json")
        database = await asyncpg.connect(database_url_path(layout).read_text().strip())
        try:

            async def all_written() -> bool:
                rows = await database.fetchval(
                    "SELECT count(*) FROM metric_samples WHERE host_id = $1", HOST
                )
                return bool(rows >= SAMPLES)

            await wait_until(all_written, timeout=60, what="the history writers to catch up")
            rows = await database.fetchval(
                "SELECT count(*) FROM metric_samples WHERE host_id = $1", HOST
            )
            assert rows == SAMPLES  # every one, none twice, with two writers sharing the work
        finally:
            await database.close()
        assert bus_violations(data_dir) == []


async def service_health(stack: RunningStack, service: str) -> dict[str, Any]:
    """A service's GET /api/health body (it answers 503 while degraded, with the same body)."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"http://127.0.0.1:{stack.port(service)}/api/health")
    body: dict[str, Any] = answer.json()
    return body


async def stream_counts(stack: RunningStack, data_dir: Path) -> dict[str, tuple[int, int, int]]:
    """(messages, last sequence, replicas) of every stream, and each durable consumer's ack
    floor."""
    nc = await nats.connect(stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(data_dir))
    try:
        js = nc.jetstream()
        found = {}
        for info in await js.streams_info():
            name = info.config.name or ""
            found[name] = (info.state.messages, info.state.last_seq, info.config.num_replicas or 1)
            for consumer in await js.consumers_info(name):
                if consumer.config.durable_name:  # the ephemeral ones end with their client
                    found[f"{name}/{consumer.name}"] = (consumer.ack_floor.stream_seq, 0, 0)
        return found
    finally:
        await nc.close()


async def test_a_single_servers_data_dir_grown_into_a_cluster_keeps_every_stream(
    tmp_path: Path,
) -> None:
    """The first node stores where the single server did: a cluster started on that data dir
    takes up every stream (samples, commands, the twin's buckets) with its messages and its
    consumers' places, at three replicas; the single server's files are kept aside."""
    data_dir = tmp_path / "stack"
    async with mirror_stage_up(data_dir, "--simulate", "20") as alone:
        await wait_until(
            lambda: has_samples(alone, data_dir), timeout=60, what="the simulated samples"
        )
        # Nothing may publish between the count and the stop: the simulator finishes its tick
        # and the agent flushes its buffer when stopped. Frozen, they send nothing more (and
        # are killed at the stop); the count is taken once what was in flight has landed.
        for process in alone.descendants():
            if "mirror_agent" in " ".join(process.cmdline()):
                process.suspend()
        before = await settled_counts(alone, data_dir)
    async with mirror_stage_up(data_dir, "--cluster", "3", "--no-agent") as cluster:
        after = await stream_counts(cluster, data_dir)
    assert before["METRICS"][0] > 0
    assert after["METRICS"][:2] == before["METRICS"][:2]  # no agent since: the same samples
    # The history writer's durable consumer keeps its place (the alerts service moves its own
    # to where its last snapshot of the rules' state stood).
    assert after["METRICS/history"][0] >= before["METRICS/history"][0] > 0
    for name, (_, last_seq, _) in before.items():
        if "/" not in name:
            assert after[name][1] >= last_seq, name  # its sequence goes on, not from 0
            assert after[name][2] == 3, name
    assert glob.glob(f"{data_dir}/single-server-streams-*/jetstream/*/streams/METRICS")
    assert os.listdir(data_dir / "stream-rebuilds") == []


async def settled_counts(stack: RunningStack, data_dir: Path) -> dict[str, tuple[int, int, int]]:
    """stream_counts once two readings a second apart hold the same samples (bounded: 30 s;
    the twin's checkpoints and the consumers' places may go on moving)."""
    counts = await stream_counts(stack, data_dir)
    async with asyncio.timeout(30):
        while True:
            await asyncio.sleep(1)
            again = await stream_counts(stack, data_dir)
            if again["METRICS"] == counts["METRICS"]:
                return again
            counts = again


async def has_samples(stack: RunningStack, data_dir: Path) -> bool:
    counts = await stream_counts(stack, data_dir)
    return counts["METRICS"][0] >= 40 and counts.get("METRICS/history", (0,))[0] >= 20
