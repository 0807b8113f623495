"""The parts of `mirror-stage up --cluster 3 --replicas 2` a fault picks and waits for: each
replica by the name the launcher printed (twin, twin-2, ...), the one active where only one
acts (the alerts leader, the twin's checkpoint writer), the node leading a stream, and the
twin's checkpoint position."""

import contextlib

import httpx
import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
import psutil
from stack_up import RunningStack
from test_cluster import node_process

from mirror_schema import streams
from mirror_twin.checkpoint import POSITION_KEY, StreamPosition
from waiting import wait_until

REPLICAS = 2
RESTART_LIMIT_SECONDS = 90.0


def addresses(stack: RunningStack) -> dict[str, str]:
    """Every part's address as the launcher printed it, by name (twin-2, nats-3...)."""
    return {line.split()[0]: line.split()[1] for line in stack.lines if line.startswith("  ")}


def replicas(service: str) -> tuple[str, ...]:
    return (service, *(f"{service}-{n}" for n in range(2, REPLICAS + 1)))


def replica_process(stack: RunningStack, name: str) -> psutil.Process | None:
    """The process of replica `name` (twin, twin-2): the service's one listening on the
    replica's port (MIRROR_STAGE_<SERVICE>_PORT in its environment); None while there is none."""
    service = name.split("-")[0]
    port = addresses(stack)[name].rsplit(":", 1)[1]
    for process in stack.descendants():
        with contextlib.suppress(psutil.Error):
            if process.name() in ("postgres", "postmaster"):
                continue  # a backend's title names the service it serves
            if f"mirror_{service}" not in " ".join(process.cmdline()):
                continue
            if process.environ().get(f"MIRROR_STAGE_{service.upper()}_PORT") == port:
                return process
    return None


async def health_details(stack: RunningStack, name: str) -> dict[str, object] | None:
    """The `details` of replica `name`'s health; None while it does not answer."""
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            answer = await http.get(f"{addresses(stack)[name]}/api/health")
        except httpx.HTTPError:
            return None
    if answer.status_code != 200:
        return None
    details: dict[str, object] = answer.json().get("details", {})
    return details


async def active_replica(stack: RunningStack, service: str) -> str:
    """The replica that acts alone: the alerts leader, the twin's checkpoint writer; the
    first replica of a service whose replicas share the work (commands, ingest)."""
    key, value = {"alerts": ("role", "leader"), "twin": ("checkpoint", "writer")}.get(
        service, ("", "")
    )
    if not key:
        return service
    found: list[str] = []

    async def one_active() -> bool:
        found.clear()
        for name in replicas(service):
            details = await health_details(stack, name)
            if details is not None and details.get(key) == value:
                found.append(name)
        return len(found) == 1

    await wait_until(one_active, timeout=60, what=f"one {service} replica with {key} {value}")
    return found[0]


async def every_replica_healthy(stack: RunningStack) -> bool:
    for service in ("twin", "ingest", "alerts", "commands"):
        for name in replicas(service):
            if await health_details(stack, name) is None:
                return False
    return True


async def replica_restarted(stack: RunningStack, name: str, before: int) -> None:
    """Until the launcher runs replica `name` again, under another pid, and it is healthy."""

    async def back() -> bool:
        process = replica_process(stack, name)
        if process is None or process.pid == before:
            return False
        return await health_details(stack, name) is not None

    await wait_until(back, timeout=RESTART_LIMIT_SECONDS, what=f"the launcher to restart {name}")


async def leader_node(nc: nats.aio.client.Client, stream: str) -> str:
    """The node (nats, nats-2, nats-3) leading `stream`'s replicas."""
    info = await nc.jetstream().stream_info(stream)
    assert info.cluster is not None, info
    assert info.cluster.leader, info
    suffix = info.cluster.leader.rsplit("-", 1)[-1]
    return f"nats-{suffix}" if suffix.isdigit() else "nats"


async def node_restarted(stack: RunningStack, node: str, before: int) -> None:
    async def back() -> bool:
        try:
            return node_process(stack, node).pid != before
        except AssertionError:
            return False

    await wait_until(back, timeout=RESTART_LIMIT_SECONDS, what=f"the launcher to restart {node}")


async def checkpoint_position(nc: nats.aio.client.Client) -> int:
    """The METRICS sequence of the twin's saved checkpoint (0 before one is saved)."""
    bucket = await nc.jetstream().key_value(streams.BUCKET_TWIN_CHECKPOINT)
    try:
        entry = await bucket.get(POSITION_KEY)
    except nats.js.errors.KeyNotFoundError:
        return 0
    if entry.value is None:
        return 0
    return msgspec.json.decode(entry.value, type=StreamPosition).stream_seq
