"""The fleet simulator against a real nats-server: every host's samples land on its subject."""

import asyncio
import signal
import sys

import nats.aio.client
from agent_helpers import stored_samples

from mirror_agent.simulate import SimulatorOptions, run_simulator, simulated_host_id
from mirror_schema import streams, subjects
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
