"""Helpers for the twin's integration tests: a private nats-server, twin replicas, samples."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import nats

from loopback_ports import free_port
from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import streams
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.supervisor import PartSpec, Supervised
from servers import service_spec


@contextlib.asynccontextmanager
async def own_nats_server(directory: Path) -> AsyncIterator[str]:
    """A nats-server of one's own, its streams made; yields its URL and stops it after.

    Its own, not the session's: a twin follows every `metrics.raw.>` subject of its server.
    """
    part = Supervised(loopback_nats_spec(directory, port=free_port()))
    await part.start()
    try:
        nc = await nats.connect(part.spec.address)
        try:
            await streams.ensure_streams(nc.jetstream())
        finally:
            await nc.close()
        yield part.spec.address
    finally:
        await part.stop()


def twin_spec(
    nats_url: str, log_path: Path, port: int, env: Mapping[str, str] | None = None
) -> PartSpec:
    """One twin replica as deployed, with `env` added to its environment.

    E.g. ``{"MIRROR_STAGE_TWIN_CLIENT_QUEUE": "2", "MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS": "20"}``.
    """
    return service_spec("twin", log_path=log_path, nats_url=nats_url, port=port, env=env)


@contextlib.asynccontextmanager
async def running_twin(
    nats_url: str, log_path: Path, env: Mapping[str, str] = {}
) -> AsyncIterator[Supervised]:
    """A healthy twin replica on a free port (``part.spec.address``), stopped after."""
    part = Supervised(twin_spec(nats_url, log_path, free_port(), env))
    await part.start()
    try:
        yield part
    finally:
        await part.stop()


async def publish_tick(url: str, fleet: SimulatedFleet, at: float) -> int:
    """Publish one sample of every host of `fleet` at epoch `at`; how many were published.

    All of them are acknowledged by the stream when this returns.
    """
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        samples = fleet.tick(at)
        await asyncio.gather(
            *(
                js.publish(e.subject, e.payload, headers={"Nats-Msg-Id": e.msg_id})
                for e in map(envelope_of, samples)
            )
        )
    finally:
        await nc.close()
    return len(samples)


async def metric_value(base_url: str, name: str) -> float:
    """The value of an unlabelled counter or gauge in the service's GET /metrics (0 if absent)."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/metrics")
        response.raise_for_status()
    for line in response.text.splitlines():
        metric, _, value = line.partition(" ")
        if metric == name:
            return float(value)
    return 0.0
