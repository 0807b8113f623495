"""The fleet simulator against a real nats-server: every host's samples land on its subject."""

import asyncio
import signal
import sys
from collections import Counter

import msgspec
import nats.aio.client
from agent_helpers import stored_samples
from nats.aio.msg import Msg

from mirror_agent.simulate import (
    HOSTS_PER_SLICE,
    SimulatorOptions,
    run_simulator,
    simulated_host_id,
)
from mirror_schema import streams, subjects
from mirror_schema.samples import MetricSample
from servers import NatsServer
from waiting import wait_until


async def test_the_simulator_publishes_every_host_with_sample_ids(
    nats_server: NatsServer, nc: nats.aio.client.Client, unique: str
) -> None:
    """Each simulated host's samples are stored on metrics.raw.<host> as <host>:<boot>:<seq>."""
    await streams.ensure_streams(nc.jetstream())
    options = SimulatorOptions(
        hosts=5, nats_url=nats_server.url, interval=0.5, duration=2.0, prefix=f"t{unique}"
    )
    async with asyncio.timeout(30):
        report = await run_simulator(options, asyncio.Event())
    assert report.ticks >= 3
    assert report.sent == report.submitted > 0
    assert report.buffered == report.dropped == 0
    for index in range(5):
        host_id = simulated_host_id(index, f"t{unique}")
        stored = await stored_samples(nats_server.url, host_id)
        assert stored, f"nothing stored for {host_id}"
        for msg_id, sample in stored:
            assert sample.host_id == host_id
            assert msg_id == f"{host_id}:{sample.boot_id}:{sample.seq}"
        assert subjects.metrics_raw(host_id) == f"metrics.raw.{host_id}"


async def test_the_simulator_command_stops_cleanly_on_sigterm(
    nats_server: NatsServer, nc: nats.aio.client.Client, unique: str
) -> None:
    """`python -m mirror_agent.simulate` publishes until SIGTERM, then exits 0."""
    await streams.ensure_streams(nc.jetstream())
    prefix = f"t{unique}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_agent.simulate",
        "--nats-url",
        nats_server.url,
        "--hosts",
        "3",
        "--interval",
        "0.5",
        "--host-prefix",
        prefix,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def published() -> bool:
            return len(await stored_samples(nats_server.url, simulated_host_id(2, prefix))) >= 2

        await wait_until(published, timeout=30, what="the simulator's third host to publish")
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"simulator.stopped" in stderr


async def test_a_tick_is_spread_over_the_interval_as_unsynchronised_agents_are(
    nats_server: NatsServer, nc: nats.aio.client.Client, unique: str
) -> None:
    """1,000 hosts at 2 s: a tick goes out in slices of HOSTS_PER_SLICE hosts, each stamped as
    it is sampled and spread over the interval (slice k no earlier than k/4 of it), not all
    stamped at the tick's start; every host is in the tick."""
    await streams.ensure_streams(nc.jetstream())
    prefix = f"s{unique}"
    stamps: dict[str, float] = {}  # each host's first sample's timestamp

    async def seen(msg: Msg) -> None:
        if msg.subject.startswith(f"metrics.raw.{prefix}-"):
            sample = msgspec.json.decode(msg.data, type=MetricSample)
            stamps.setdefault(sample.host_id or "", sample.timestamp.timestamp())

    await nc.subscribe(subjects.METRICS_RAW_ALL, cb=seen)
    stop = asyncio.Event()
    options = SimulatorOptions(hosts=1000, nats_url=nats_server.url, interval=2.0, prefix=prefix)
    running = asyncio.create_task(run_simulator(options, stop))
    await wait_until(lambda: len(stamps) == 1000, timeout=30, what="every host's first sample")
    stop.set()
    async with asyncio.timeout(30):
        await running
    # A host the fleet keeps silent at first shows up a tick later: each slice's stamp is the
    # one nearly all its hosts share.
    slice_stamps = []
    for k in range(0, 1000, HOSTS_PER_SLICE):
        hosts = [simulated_host_id(i, prefix) for i in range(k, k + HOSTS_PER_SLICE)]
        ((stamp, count),) = Counter(stamps[host] for host in hosts).most_common(1)
        assert count >= 0.9 * HOSTS_PER_SLICE  # a slice is sampled at once
        slice_stamps.append(stamp)
    for k, stamp in enumerate(slice_stamps[1:], start=1):
        assert stamp - slice_stamps[0] >= k * 2.0 / 4 - 0.01
