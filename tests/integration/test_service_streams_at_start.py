"""A service started while the cluster's JetStream does not answer waits for it, bounded.

A clustered nats-server without a majority of its nodes has no meta leader: it takes
connections, and every JetStream API request goes unanswered, as happens for a moment while a
cluster elects a leader (a node late, a loaded machine). The services' streams step at their
start asked once and died on the first unanswered request, which stopped `mirror-stage up`.
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import nats
import nats.errors
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from loopback_ports import free_port
from mirror_runtime.service_streams import ensure_service_streams
from mirror_schema import streams
from mirror_stage.natsd import cluster_block, listening, nats_spec, new_route_credentials
from mirror_stage.supervisor import Supervised
from waiting import wait_until

API_SECONDS = 1.0  # each JetStream request: short, so the test sees several unanswered

StartNode = Callable[[int], Awaitable[str]]


@pytest_asyncio.fixture
async def start_node(tmp_path: Path) -> AsyncIterator[StartNode]:
    """Start node 0, 1 or 2 of a three-node cluster; its client URL. Stopped after."""
    route_ports = [free_port() for _ in range(3)]
    credentials = new_route_credentials()
    started: list[Supervised] = []

    async def start(node: int) -> str:
        others = [port for i, port in enumerate(route_ports) if i != node]
        spec = nats_spec(
            host="127.0.0.1",
            port=free_port(),
            store_dir=tmp_path / f"node-{node}",
            log_path=tmp_path / f"node-{node}.log",
            server_name=f"node-{node}",
            cluster=cluster_block("streams-at-start", route_ports[node], others, credentials),
        )
        url = spec.address

        async def accepting() -> bool:  # a lone clustered node's JetStream never answers
            return await listening(url)

        part = Supervised(dataclasses.replace(spec, name=f"node-{node}", probe=accepting))
        started.append(part)
        await part.start()
        return url

    try:
        yield start
    finally:
        await asyncio.gather(*(part.stop() for part in started))


async def test_a_service_waits_for_a_cluster_without_a_leader_and_makes_its_streams(
    start_node: StartNode,
) -> None:
    url = await start_node(0)
    nc = await nats.connect(url)
    try:
        js = nc.jetstream(timeout=API_SECONDS)
        # What a service's start did before: one unanswered request and it died.
        with pytest.raises(nats.errors.TimeoutError):
            await streams.ensure_streams(js, update=False)
        with capture_logs() as logs:
            making = asyncio.create_task(ensure_service_streams(js, seconds=60))

            def refused_twice() -> bool:
                return sum(entry["event"] == "retry.busy" for entry in logs) >= 2 or making.done()

            await wait_until(refused_twice, timeout=30, what="two unanswered streams steps")
            assert not making.done(), making.exception()
            await start_node(1)  # a majority: a meta leader is elected, JetStream answers
            async with asyncio.timeout(60):
                await making
        for spec in streams.STREAMS:
            info = await js.stream_info(spec.name)
            assert info.config.num_replicas == 1, spec.name  # a service never sets copies
    finally:
        await nc.close()
