"""The ingest's doors over the metric history: which function answers each operation declared
in mirror_schema.metrics_operations, and the NATS door serving ``metrics.api.history`` in the
queue group ``ingest``, so the twin (which holds no database) can draw the HUD's sparklines."""

from typing import Any

import asyncpg
import nats.aio.client

from mirror_ingest import metrics
from mirror_ingest.operations import read_history, read_hosts
from mirror_runtime.implementations import Implementation, implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema import metrics_operations as ops
from mirror_schema import subjects
from mirror_schema.api import NoRequest
from mirror_schema.history import HistoryHosts, HistoryRequest, HistoryResponse

__all__ = ["implementations", "nats_door"]


def implementations(pool: asyncpg.Pool) -> list[Implementation[Any, Any]]:
    """Every history operation with the function carrying it out."""

    async def history(request: HistoryRequest, _actor: str | None) -> HistoryResponse:
        return await read_history(pool, request.host, request.since, request.until, request.step)

    async def hosts(_request: NoRequest, _actor: str | None) -> HistoryHosts:
        return await read_hosts(pool)

    return [implement(ops.HISTORY, history), implement(ops.HOSTS, hosts)]


def nats_door(nc: nats.aio.client.Client, pool: asyncpg.Pool) -> NatsDoor:
    """The history's request/reply subscription, in the queue group ``ingest``."""
    return NatsDoor(
        nc, implementations(pool), queue=subjects.METRICS_QUEUE_GROUP, requests=metrics.REQUESTS
    )
