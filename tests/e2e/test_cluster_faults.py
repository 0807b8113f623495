"""Faults on `mirror-stage up --cluster 3 --replicas 2` while its work is in flight: a NATS node
killed (SIGKILL), then the active replica of each service (the alerts leader, the twin's
checkpoint writer, a commands and an ingest replica). Each fault strikes while a fleet is
publishing, its hot host's alert is in its `for` window, a command runs on the field agent and
a client follows each twin replica's socket; each ends with exact counts: the alert fired
once, the command ran once with a whole audit, every acknowledged sample is in METRICS and the
history once, both twin clients hold what METRICS holds last and none was ever taken back to
an older sample, and the twin's checkpoint position never went back.

One stack for the module; loopback only, a fixed number of samples, bounded waits."""

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import nats.errors
import nats.js.errors
import pytest
import pytest_asyncio
from cluster_parts import (
    active_replica,
    addresses,
    checkpoint_position,
    every_replica_healthy,
    leader_node,
    node_restarted,
    replica_process,
    replica_restarted,
    replicas,
)
from fault_load import Fleet, Load
from fault_stage import FIELD_HOST, Faulty, fault_stack
from stack_up import bus_violations, last_sample
from test_cluster import node_process
from twin_watch import TwinWatch

from mirror_schema import streams
from waiting import wait_until

# Of the samples' time: the hot host's alert fires on its 61st sample, after the fault, which
# strikes once KILL_AFTER samples are acknowledged (the hot host's ~20th).
FOR_SECONDS = 60.0
KILL_AFTER = 100
WHOLE_AUDIT = ["created", "dispatched", "running", "succeeded"]

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fault_stage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Faulty]:
    """The module's stack (conftest's `faulty` uses it): a cluster, two replicas of each."""
    base: Path = tmp_path_factory.mktemp("cluster-faults")
    async with fault_stack(base, "--cluster", "3", "--replicas", "2") as stage:
        yield stage
    assert bus_violations(stage.data_dir) == []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def watches(fault_stage: Faulty) -> AsyncIterator[list[TwinWatch]]:
    """A logged-in client on each twin replica's socket, for the whole module."""
    cookie = f"mirror_session={fault_stage.http.cookies['mirror_session']}"
    found = addresses(fault_stage.stack)
    clients = [
        TwinWatch(found[name].replace("http", "ws", 1) + "/ws/twin", cookie, found[name])
        for name in replicas("twin")
    ]
    for client in clients:
        client.start()
    yield clients
    for client in clients:
        await client.stop()


async def test_a_nats_node_killed_under_work(faulty: Faulty, watches: list[TwinWatch]) -> None:
    # The node leading METRICS, unless it is the first: the field agent names only that one.
    node = await leader_node(faulty.nc, streams.METRICS.name)
    node = "nats-2" if node == "nats" else node

    async def kill() -> None:
        victim = node_process(faulty.stack, node)
        victim.send_signal(signal.SIGKILL)
        await node_restarted(faulty.stack, node, victim.pid)

    await under_work(faulty, watches, "node-killed", kill, victim=node)


@pytest.mark.parametrize("service", ["alerts", "commands", "twin", "ingest"])
async def test_the_active_replica_killed_under_work(
    faulty: Faulty, watches: list[TwinWatch], service: str
) -> None:
    name = await active_replica(faulty.stack, service)

    async def kill() -> None:
        victim = replica_process(faulty.stack, name)
        assert victim is not None, name
        victim.send_signal(signal.SIGKILL)
        await replica_restarted(faulty.stack, name, victim.pid)

    await under_work(faulty, watches, f"{service}-killed", kill, victim=name)


async def under_work(
    faulty: Faulty,
    watches: list[TwinWatch],
    name: str,
    fault: Callable[[], Awaitable[None]],
    victim: str,
) -> None:
    """`fault` (killing part `victim`) dealt while fleet `name` publishes, its alert pends and
    a command runs; then the exact counts of the module's doc."""
    fleet = Fleet(name)
    await faulty.add_spike_rule(fleet, for_seconds=FOR_SECONDS)
    positions = [await checkpoint_position(faulty.nc)]
    following = asyncio.create_task(follow_position(faulty, positions))
    command = await faulty.commands.send(FIELD_HOST, faulty.agent.sleeper(name))
    await faulty.commands.wait_status(command, "running")
    load = Load(faulty.nc.jetstream(), fleet)
    publishing = asyncio.create_task(load.run())
    await wait_until(
        lambda: sum(load.published.values()) >= KILL_AFTER, timeout=60, what="the load under way"
    )
    assert load.published[fleet.hot] < FOR_SECONDS  # its alert is still in its `for` window
    assert await faulty.spike_states(fleet) == []
    assert faulty.agent.executions(name) == Counter(start=1)  # the command is in flight

    connections = [watch.connections for watch in watches]
    await fault()
    await publishing
    await faulty.all_healthy()
    await wait_until(
        lambda: every_replica_healthy(faulty.stack), timeout=90, what="every replica healthy"
    )

    for host in fleet.every_host:
        assert await faulty.held(host) == load.published[host], host  # none lost, none twice
    await faulty.expect_rows(load.published)
    assert await faulty.commands.wait_final(command) == "succeeded"
    assert await faulty.commands.audit(command) == WHOLE_AUDIT
    assert faulty.agent.accepted(command) == 1
    assert faulty.agent.executions(name) == Counter(start=1, done=1)
    await faulty.fired_once(fleet)
    for host in (fleet.hot, fleet.hosts[0]):
        await converged(faulty, watches, host)
    # A twin client connected again when its replica was killed (and saw no older state from
    # the new process: `converged`), and only then: nothing else drops the sockets.
    for replica, watch, before in zip(replicas("twin"), watches, connections, strict=True):
        assert (watch.connections > before) == (replica == victim), (replica, victim)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following
    positions.append(await checkpoint_position(faulty.nc))
    assert positions == sorted(positions), positions  # the checkpoint never went back


async def follow_position(faulty: Faulty, positions: list[int]) -> None:
    """Read the twin's checkpoint position every 0.25 s into `positions` until cancelled
    (bounded: a round lasts minutes at most); a reading the fault cut short is skipped."""
    for _ in range(2400):
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error, TimeoutError):
            positions.append(await checkpoint_position(faulty.nc))
        await asyncio.sleep(0.25)


async def converged(faulty: Faulty, watches: list[TwinWatch], host: str) -> None:
    """Both twin clients hold `host` at its last sample in METRICS, and no message ever took
    a host back to an older sample."""
    sample = await last_sample(faulty.stack, faulty.data_dir, host)
    assert sample is not None, host
    latest = datetime.fromisoformat(sample["timestamp"])

    def there() -> bool:
        return all(watch.seen.get(host) == latest for watch in watches)

    await wait_until(there, timeout=60, what=f"both twin clients to show {host} at {latest}")
    for watch in watches:
        assert watch.alive, watch.url
        assert watch.regressions == [], (watch.url, watch.regressions)
