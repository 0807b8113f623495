"""The NATS side of a service's health: for each of the project's streams, its leader and how
many of its replicas are current, as nats-server reports them (STREAM.INFO)."""

from __future__ import annotations

import asyncio
from typing import Final

import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors

from mirror_schema import streams

__all__ = ["ClusterHealth", "StreamHealth", "cluster_health"]

# Every stream asked at once, the whole answer within this: a health check stays quick when
# the cluster is not.
ASK_SECONDS: Final = 1.5


class StreamHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One stream: its configured replicas, the leader and the replicas that are current
    (the leader and every follower caught up and online)."""

    stream: str
    replicas: int
    current: int
    leader: str | None
    lagging: list[str] = []  # followers behind or offline

    @property
    def has_quorum(self) -> bool:
        """A leader, and a majority of the replicas current: the stream takes writes."""
        return self.leader is not None and self.current >= self.replicas // 2 + 1


class ClusterHealth(msgspec.Struct, frozen=True, kw_only=True):
    """The streams as the cluster reports them; `nodes`: the servers answering for them."""

    nodes: int
    streams: list[StreamHealth]
    error: str | None = None  # the cluster could not be asked

    @property
    def healthy(self) -> bool:
        return self.error is None and all(stream.has_quorum for stream in self.streams)


async def cluster_health(nc: nats.aio.client.Client) -> ClusterHealth:
    """Ask for every stream's info at once; a stream not made yet is left out."""
    js = nc.jetstream(timeout=ASK_SECONDS)
    try:
        async with asyncio.timeout(ASK_SECONDS):
            answers = await asyncio.gather(
                *(js.stream_info(stream.name) for stream in streams.STREAMS),
                return_exceptions=True,
            )
    except TimeoutError:
        return ClusterHealth(nodes=0, streams=[], error=f"no answer within {ASK_SECONDS:g} s")
    found: list[StreamHealth] = []
    nodes: set[str] = set()
    for stream, answer in zip(streams.STREAMS, answers, strict=True):
        if isinstance(answer, nats.js.errors.NotFoundError):
            continue
        if isinstance(answer, BaseException):
            if isinstance(answer, (nats.errors.Error, TimeoutError)):
                return ClusterHealth(nodes=0, streams=[], error=f"{stream.name}: {answer}")
            raise answer
        cluster = answer.cluster
        leader = cluster.leader if cluster else None
        peers = (cluster.replicas or []) if cluster else []
        caught_up = [p.name for p in peers if p.current and not p.offline and p.name]
        lagging = sorted(p.name or "?" for p in peers if not p.current or p.offline)
        nodes.update(caught_up)
        if leader:
            nodes.add(leader)
        found.append(
            StreamHealth(
                stream=stream.name,
                replicas=answer.config.num_replicas or 1,
                current=len(caught_up) + (1 if leader else 0),
                leader=leader,
                lagging=lagging,
            )
        )
    return ClusterHealth(nodes=len(nodes), streams=found)
