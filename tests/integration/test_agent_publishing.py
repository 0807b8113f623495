"""The agent against a real nats-server: subjects, ids, and nothing lost while the bus is away."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest_asyncio
from agent_helpers import stored_count, stored_samples

from loopback_ports import free_port
from mirror_agent.agent import Agent
from mirror_agent.buffer import DiskBuffer
from mirror_agent.config import AgentConfig
from mirror_agent.envelope import Envelope
from mirror_agent.shipper import Shipper
from mirror_agent.transport import NatsTransport
from mirror_schema import streams, subjects
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.supervisor import Supervised
from servers import NatsServer
from waiting import wait_until


@pytest_asyncio.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[Supervised]:
    """A nats-server of this test's own, which the test may stop and start again."""
    part = Supervised(loopback_nats_spec(tmp_path, port=free_port()))
    await part.start()
    await ensure_streams(part.spec.address)
    yield part
    await part.stop()


async def ensure_streams(url: str) -> None:
    nc = await nats.connect(url)
    await streams.ensure_streams(nc.jetstream())
    await nc.close()


async def test_samples_arrive_on_the_host_subject_with_their_ids(
    nats_server: NatsServer, unique: str
) -> None:
    """Each sample lands on metrics.raw.<host> with Nats-Msg-Id <host>:<boot id>:<seq>."""
    await ensure_streams(nats_server.url)
    host_id = f"agent-{unique}"
    agent = Agent(AgentConfig(nats_url=nats_server.url, host_id=host_id, interval_seconds=0.5))
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))

    async def three_stored() -> bool:
        return await stored_count(nats_server.url, host_id) >= 3

    await wait_until(three_stored, timeout=20, what="three samples in METRICS")
    stop.set()
    await running
    stored = await stored_samples(nats_server.url, host_id)
    assert [sample.seq for _, sample in stored] == list(range(1, len(stored) + 1))
    for msg_id, sample in stored:
        assert sample.host_id == host_id
        assert msg_id == f"{host_id}:{agent.boot_id}:{sample.seq}"
    assert subjects.metrics_raw(host_id) == f"metrics.raw.{host_id}"


async def test_an_outage_of_the_bus_loses_nothing_and_duplicates_nothing(
    own_nats: Supervised, tmp_path: Path
) -> None:
    """nats-server stopped for ~10 s while the agent samples every 0.5 s: once it is back,
    every sample of the outage is in the stream exactly once and in order."""
    url = own_nats.spec.address
    host_id = "outage-host"
    config = AgentConfig(
        nats_url=url,
        host_id=host_id,
        interval_seconds=0.5,
        buffer_dir=str(tmp_path / "buffer"),
    )
    agent = Agent(config)
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))

    async def some_stored() -> bool:
        return await stored_count(url, host_id) >= 3

    await wait_until(some_stored, timeout=20, what="samples before the outage")
    await own_nats.stop()
    outage_started_at = agent.seq
    assert agent.shipper is not None
    shipper = agent.shipper
    # ~10 s of samples at 0.5 s: the agent keeps sampling into its disk buffer meanwhile.
    await wait_until(
        lambda: agent.seq - outage_started_at >= 20,
        timeout=30,
        what="20 samples taken during the outage",
    )
    assert len(shipper.buffer) >= 15
    await own_nats.start()

    async def caught_up() -> bool:
        return len(shipper.buffer) == 0 and await stored_count(url, host_id) >= agent.seq

    await wait_until(caught_up, timeout=30, what="the buffer to be replayed")
    stop.set()
    await running
    stored = await stored_samples(url, host_id)
    seqs = [sample.seq for _, sample in stored]
    assert seqs == list(range(1, agent.seq + 1)), seqs
    assert shipper.dropped == 0
    assert len({msg_id for msg_id, _ in stored}) == len(stored)


async def test_a_full_buffer_drops_the_oldest_counts_them_and_ships_the_rest_in_order(
    tmp_path: Path,
) -> None:
    """With the bus away and the buffer over its cap, the oldest are dropped (counted); the
    newest are delivered in order once a server answers."""
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    transport = NatsTransport(url, name="cap-test")
    buffer = DiskBuffer(tmp_path / "buffer", max_bytes=64 * 1024)
    shipper = Shipper(transport, buffer)
    stop = asyncio.Event()
    running = asyncio.create_task(shipper.run(stop))
    subject = subjects.metrics_raw("cap-host")
    total = 300
    for n in range(1, total + 1):
        payload = b'{"hostname":"cap","timestamp":"2026-11-21T00:00:00Z","cpu_load":1,"seq":%d}' % n
        shipper.submit(Envelope(subject, f"cap-host:b:{n}", payload.ljust(1000)))
    kept = len(buffer)
    assert buffer.dropped > 0
    assert kept + buffer.dropped == total
    assert sum(p.stat().st_size for p in (tmp_path / "buffer").glob("segment-*")) < 80 * 1024

    part = Supervised(loopback_nats_spec(tmp_path, port=port))
    await part.start()
    try:
        await ensure_streams(url)
        await wait_until(lambda: len(buffer) == 0, timeout=30, what="the buffer to drain")
        stop.set()
        await running
        stored = await stored_samples(url, "cap-host")
        assert [msg_id for msg_id, _ in stored] == [
            f"cap-host:b:{n}" for n in range(buffer.dropped + 1, total + 1)
        ]
    finally:
        await transport.close()
        buffer.close()
        await part.stop()


async def test_stop_sends_what_is_buffered(nats_server: NatsServer, unique: str) -> None:
    """Stopped right after its first sample (taken before its connection is up), the agent
    still delivers it before it exits."""
    await ensure_streams(nats_server.url)
    host_id = f"stop-{unique}"
    agent = Agent(AgentConfig(nats_url=nats_server.url, host_id=host_id, interval_seconds=30))
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    await wait_until(lambda: agent.seq == 1, timeout=10, what="the first sample")
    stop.set()
    await running
    assert agent.seq == 1
    assert await stored_count(nats_server.url, host_id) == 1
