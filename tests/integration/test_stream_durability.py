"""A kill -9 of nats-server right after its acknowledgements, as the stack runs it (every write
synced, METRICS flushed asynchronously): what each stream still holds after the restart."""

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import nats
import nats.aio.client
from nats.js.api import PubAck

from loopback_ports import free_port
from mirror_agent.buffer import DiskBuffer
from mirror_agent.envelope import Envelope
from mirror_agent.shipper import Shipper
from mirror_agent.transport import NatsTransport
from mirror_ingest.batch import SamplePublisher
from mirror_ingest.errors import PublishFailedError
from mirror_ingest.validation import AcceptedSample
from mirror_schema import streams, subjects
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.supervisor import Supervised
from waiting import wait_until

BURST = 300


async def acknowledged_then_killed(
    base: Path, subject_of: Callable[[int], str]
) -> tuple[list[PubAck], nats.aio.client.Client, Supervised]:
    """Publish BURST messages at once, kill -9 the server the moment the last is acknowledged,
    start it again on the same store; the acknowledgements and a connection to the new one."""
    spec = loopback_nats_spec(base, port=free_port())
    server = Supervised(spec)
    await server.start()
    nc = await nats.connect(spec.address, max_reconnect_attempts=0)
    js = nc.jetstream()
    await streams.ensure_streams(js)
    acks = await asyncio.gather(
        *(
            js.publish(subject_of(n), f"message {n}".encode(), headers={"Nats-Msg-Id": f"m-{n}"})
            for n in range(BURST)
        )
    )
    again = await kill_9_and_restart(server)
    await nc.close()
    return list(acks), await nats.connect(spec.address), again


async def kill_9_and_restart(server: Supervised) -> Supervised:
    """SIGKILL the server, then start it again on the same store and port."""
    assert server.pid is not None
    assert server.process is not None
    os.kill(server.pid, signal.SIGKILL)
    await server.process.wait()
    again = Supervised(server.spec)
    await again.start()
    return again


async def test_commands_acknowledged_just_before_a_kill_9_are_there_after_the_restart(
    tmp_path: Path,
) -> None:
    acks, nc, server = await acknowledged_then_killed(
        tmp_path, lambda n: subjects.commands_dispatch(f"host-{n % 10}")
    )
    try:
        info = await nc.jetstream().stream_info(streams.COMMANDS.name)
        assert info.config.persist_mode is None  # synced on every write
        assert info.state.messages == BURST
        assert info.state.last_seq == max(ack.seq for ack in acks)
    finally:
        await nc.close()
        await server.stop()


SAMPLES = 30_000


async def test_samples_acknowledged_just_before_a_kill_9_are_all_stored_after_the_restart(
    tmp_path: Path,
) -> None:
    """METRICS is flushed asynchronously: a server killed may come back without the samples
    of its last milliseconds, acknowledged all the same. The agent's transport sends what was
    acknowledged just before it lost the connection again, and the stream's duplicate window
    keeps each sample once: every sample the agent shipped is stored exactly once."""
    spec = loopback_nats_spec(tmp_path / "nats", port=free_port())
    server = Supervised(spec)
    await server.start()
    admin = await nats.connect(spec.address)
    await streams.ensure_streams(admin.jetstream())
    await admin.close()
    transport = NatsTransport(spec.address, name="kill-9-test")
    buffer = DiskBuffer(tmp_path / "buffer", 256 * 2**20)
    shipper = Shipper(transport, buffer, batch_size=200)
    stop = asyncio.Event()
    shipping = asyncio.create_task(shipper.run(stop))
    try:
        for n in range(SAMPLES):
            shipper.submit(
                Envelope(subjects.metrics_raw(f"host-{n % 100}"), f"m-{n}", b'{"n": %d}' % n)
            )
            if n % 1000 == 999:
                await asyncio.sleep(0)
        # Killed in full flow, with acknowledgements arriving.
        await wait_until(lambda: shipper.stats.sent >= SAMPLES // 3, timeout=60, what="a third")
        server = await kill_9_and_restart(server)
        async with asyncio.timeout(90):
            await shipper.wait_empty()
        check = await nats.connect(spec.address)
        info = await check.jetstream().stream_info(streams.METRICS.name)
        await check.close()
        assert info.config.persist_mode is not None  # flushed asynchronously, as the stack runs it
        assert shipper.stats.sent == SAMPLES
        assert info.state.messages == SAMPLES
    finally:
        stop.set()
        await shipping
        await transport.close()
        buffer.close()
        await server.stop()


async def test_the_ingest_sends_again_what_was_acknowledged_before_a_kill_9(
    tmp_path: Path,
) -> None:
    """The same for samples posted over HTTP: the gateway answered 200 once JetStream
    acknowledged them, so it too sends its last acknowledged samples again after a reconnect."""
    spec = loopback_nats_spec(tmp_path, port=free_port())
    server = Supervised(spec)
    await server.start()
    nc = await nats.connect(spec.address, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await streams.ensure_streams(nc.jetstream())
    publisher = SamplePublisher(nc, ack_timeout_seconds=5)
    batches = [
        [
            AcceptedSample(
                host_id=f"host-{n % 100}",
                subject=subjects.metrics_raw(f"host-{n % 100}"),
                msg_id=f"m-{n}",
                payload=b'{"n": %d}' % n,
            )
            for n in range(start, start + 50)
        ]
        for start in range(0, SAMPLES // 2, 50)
    ]
    accepted = 0

    async def post(batch: list[AcceptedSample]) -> None:
        nonlocal accepted
        while True:  # as an HTTP agent does: the whole batch again until it is accepted
            try:
                await publisher.publish(batch)
            except PublishFailedError:
                await asyncio.sleep(0.1)
                continue
            accepted += len(batch)
            return

    async def agent(own: list[list[AcceptedSample]]) -> None:
        for batch in own:  # one request after the other, as one HTTP agent posts
            await post(batch)

    try:
        posting = asyncio.gather(*(agent(batches[n::8]) for n in range(8)))
        await wait_until(lambda: accepted >= SAMPLES // 6, timeout=60, what="a third")
        server = await kill_9_and_restart(server)
        async with asyncio.timeout(90):
            await posting
        info = await nc.jetstream().stream_info(streams.METRICS.name)
        assert info.state.messages == accepted == SAMPLES // 2
    finally:
        await nc.close()
        await server.stop()
