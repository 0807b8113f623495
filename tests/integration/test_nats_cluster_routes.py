"""Cluster routes are authenticated (issue 17, item 7): a nats-server without the route
credentials cannot join the stack's cluster, however it is configured; the nodes with them
do, and the config holding them is readable by its owner alone."""

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest_asyncio

from loopback_ports import free_port
from mirror_stage.natsd import (
    RouteCredentials,
    cluster_block,
    listening,
    nats_spec,
    new_route_credentials,
    server_config_path,
)
from mirror_stage.supervisor import Supervised
from waiting import wait_until

CLUSTER = "mirror-stage"


@dataclasses.dataclass
class Node:
    part: Supervised
    monitor: int
    store_dir: Path

    async def route_names(self) -> set[str]:
        """The names of the servers routed to this one, as it reports them (/routez)."""
        async with httpx.AsyncClient() as http:
            routez = (await http.get(f"http://127.0.0.1:{self.monitor}/routez")).json()
        return {route.get("remote_name", "") for route in routez.get("routes") or []}


StartNode = Callable[[str, int, list[int], RouteCredentials | None], Awaitable[Node]]


@pytest_asyncio.fixture
async def start_node(tmp_path: Path) -> AsyncIterator[StartNode]:
    """Start a clustered node (name, route port, the route ports it dials, its credentials)."""
    nodes: list[Supervised] = []

    async def start(
        name: str, listen: int, routes: list[int], credentials: RouteCredentials | None
    ) -> Node:
        monitor = free_port()
        store_dir = tmp_path / name
        spec = nats_spec(
            host="127.0.0.1",
            port=free_port(),
            store_dir=store_dir,
            log_path=tmp_path / f"{name}.log",
            server_name=name,
            monitor_port=monitor,
            cluster=cluster_block(CLUSTER, listen, routes, credentials),
        )
        url = spec.address

        async def accepting() -> bool:  # a lone clustered node's JetStream never answers
            return await listening(url)

        part = Supervised(dataclasses.replace(spec, probe=accepting))
        nodes.append(part)
        await part.start()
        return Node(part, monitor, store_dir)

    try:
        yield start
    finally:
        for part in nodes:
            await part.stop()


async def test_a_server_without_the_route_credentials_cannot_join_the_cluster(
    start_node: StartNode,
) -> None:
    credentials = new_route_credentials()
    first_port, second_port, stranger_port = free_port(), free_port(), free_port()
    first = await start_node("node-1", first_port, [second_port], credentials)
    second = await start_node("node-2", second_port, [first_port], credentials)
    await wait_until(
        lambda: _has(first, "node-2"), timeout=10, what="the second node routed to the first"
    )
    # A stranger that knows the address but not the secret: no credentials, then wrong ones.
    stranger = await start_node("stranger", stranger_port, [first_port], None)
    guesser = await start_node(
        "guesser",
        free_port(),
        [first_port],
        RouteCredentials(user=credentials.user, password="not-the-password"),
    )
    # The first node turned each away: one without credentials, one with the wrong password.
    log_path = first.part.spec.log_path

    def both_refused() -> bool:
        refusals = [
            line for line in log_path.read_text().splitlines() if "authentication error" in line
        ]
        guessed = [line for line in refusals if f'User "{credentials.user}"' in line]
        return bool(guessed) and len(refusals) > len(guessed)

    await wait_until(both_refused, timeout=10, what="both routes refused by the first node")
    names = await first.route_names() | await second.route_names()
    assert not names & {"stranger", "guesser"}, names
    assert not await stranger.route_names()
    assert not await guesser.route_names()
    # The secret is in each node's config file: its owner's alone.
    for node in (first, second):
        assert server_config_path(node.store_dir).stat().st_mode & 0o777 == 0o600


async def _has(node: Node, name: str) -> bool:
    return name in await node.route_names()
