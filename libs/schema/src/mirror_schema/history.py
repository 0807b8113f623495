"""The metric history API's contract: GET /api/metrics/history and ``metrics.api.history``
(request/reply, queue group ``ingest``), and GET /api/hosts.

One host's points at one step: raw samples, or 1 m / 1 h rollups. Throughput is in bytes per
second (``_bytes_per_s``), from the byte counters' deltas; a rollup's plain names are averages
over its bucket and its ``_max`` names the maxima. Per-core CPU and GPUs are empty for samples
that had none and for history written before they were stored. The NATS reply is a
mirror_schema.api.Reply of a :data:`HistoryResponse`, the body of the HTTP API;
mirror_schema.metrics_operations declares both doors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, get_args

import msgspec

__all__ = [
    "STEPS",
    "GpuPoint",
    "GpuRollup",
    "HistoryHost",
    "HistoryHosts",
    "HistoryRequest",
    "HistoryResponse",
    "HourHistory",
    "InterfaceRollup",
    "InterfaceThroughput",
    "MinuteHistory",
    "RawHistory",
    "RawPoint",
    "RollupPoint",
    "Step",
]

Step = Literal["raw", "1m", "1h"]
STEPS: Final = get_args(Step)
_Param = Annotated[str, msgspec.Meta(max_length=64)]


class HistoryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One host's history: ``since``/``until`` ISO 8601, ``step`` raw, 1m or 1h (or None to
    choose by range), as the HTTP query takes them."""

    host: _Param | None = None
    since: _Param | None = None
    until: _Param | None = None
    step: _Param | None = None


class InterfaceThroughput(msgspec.Struct, frozen=True, kw_only=True):
    """Throughput of one interface at one raw sample."""

    rx_bytes_per_s: float | None
    tx_bytes_per_s: float | None


class InterfaceRollup(msgspec.Struct, frozen=True, kw_only=True):
    """Average and maximum throughput of one interface over a bucket."""

    rx_bytes_per_s: float | None
    rx_bytes_per_s_max: float | None
    tx_bytes_per_s: float | None
    tx_bytes_per_s_max: float | None


class GpuPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One GPU at one raw sample; a figure its sample did not report is None."""

    utilization_percent: float | None
    memory_used_percent: float | None
    temperature_celsius: float | None


class GpuRollup(msgspec.Struct, frozen=True, kw_only=True):
    """Averages and maxima of one GPU's figures over a bucket."""

    utilization_percent: float | None
    utilization_percent_max: float | None
    memory_used_percent: float | None
    memory_used_percent_max: float | None
    temperature_celsius: float | None
    temperature_celsius_max: float | None


class RawPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One raw sample; rates come from the previous sample of the host."""

    timestamp: datetime
    cpu_load: float
    memory_used_percent: float | None
    swap_used_percent: float | None
    load_average: float | None
    net_rx_bytes_per_s: float | None
    net_tx_bytes_per_s: float | None
    interfaces: dict[str, InterfaceThroughput]
    disks: dict[str, float]
    temperatures: dict[str, float]
    cpu_per_core: list[float] = []  # percent, by core
    gpus: dict[str, GpuPoint] = {}  # by GPU index


class RollupPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One bucket: plain names are averages, `_max` names maxima; disks are maximum use."""

    timestamp: datetime
    samples: int
    cpu_load: float
    cpu_load_max: float
    memory_used_percent: float | None
    memory_used_percent_max: float | None
    swap_used_percent: float | None
    swap_used_percent_max: float | None
    load_average: float | None
    load_average_max: float | None
    net_rx_bytes_per_s: float | None
    net_rx_bytes_per_s_max: float | None
    net_tx_bytes_per_s: float | None
    net_tx_bytes_per_s_max: float | None
    interfaces: dict[str, InterfaceRollup]
    disks: dict[str, float]
    temperatures: dict[str, float]
    temperatures_max: dict[str, float]
    # By core; None for a core no sample of the bucket reported.
    cpu_per_core: list[float | None] = []
    cpu_per_core_max: list[float | None] = []
    gpus: dict[str, GpuRollup] = {}  # by GPU index


class RawHistory(msgspec.Struct, frozen=True, kw_only=True, tag_field="step", tag="raw"):
    """Body of GET /api/metrics/history at step ``raw``: one point per sample."""

    host: str
    points: list[RawPoint]


class MinuteHistory(msgspec.Struct, frozen=True, kw_only=True, tag_field="step", tag="1m"):
    """Body of GET /api/metrics/history at step ``1m``: one point per minute."""

    host: str
    points: list[RollupPoint]


class HourHistory(msgspec.Struct, frozen=True, kw_only=True, tag_field="step", tag="1h"):
    """Body of GET /api/metrics/history at step ``1h``: one point per hour."""

    host: str
    points: list[RollupPoint]


# ``step`` says which: a union msgspec decodes by its tag (the twin reads it typed).
HistoryResponse = RawHistory | MinuteHistory | HourHistory


class HistoryHost(msgspec.Struct, frozen=True, kw_only=True):
    """A host the history has seen, with the timestamps of its first and last samples."""

    host_id: str
    hostname: str
    first_seen: datetime
    last_seen: datetime


class HistoryHosts(msgspec.Struct, frozen=True, kw_only=True):
    """Body of GET /api/hosts."""

    hosts: list[HistoryHost]
