"""The history API's reply: GET /api/metrics/history and ``metrics.api.history``.

One host's points at one step: raw samples, or 1 m / 1 h rollups. Throughput is in bytes per
second (``_bytes_per_s``), from the byte counters' deltas; a rollup's plain names are averages
over its bucket and its ``_max`` names the maxima. The query it answers is
``mirror_schema.metrics_api.HistoryRequest`` on NATS, the same parameters on HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, get_args

import msgspec

__all__ = [
    "STEPS",
    "HistoryResponse",
    "InterfaceRollup",
    "InterfaceThroughput",
    "RawPoint",
    "RollupPoint",
    "Step",
]

Step = Literal["raw", "1m", "1h"]
STEPS: Final = get_args(Step)


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


class HistoryResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Body of GET /api/metrics/history; ``history`` of the ``metrics.api.history`` reply."""

    host: str
    step: Step
    points: list[RawPoint] | list[RollupPoint]
