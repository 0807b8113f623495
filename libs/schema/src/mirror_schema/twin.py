"""Twin messages: the full frame and the diffs the twin service streams to the HUD."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from mirror_schema.common import AwareDatetime, Bytes, Count, NonNegativeFloat, Percent
from mirror_schema.hosts import HostId
from mirror_schema.metrics import Position

__all__ = [
    "HostStatus",
    "HostView",
    "LinkView",
    "TwinDiff",
    "TwinEvent",
    "TwinFrame",
    "TwinMessage",
]

HostStatus = Literal["online", "stale", "offline"]


class HostView(msgspec.Struct, frozen=True, kw_only=True):
    """What the HUD shows of one host; every reading is None while unknown."""

    host_id: HostId
    status: HostStatus
    hostname: str = ""
    last_seen: AwareDatetime | None = None
    layer: Annotated[int, msgspec.Meta(ge=1, le=7)] | None = None
    position: Position | None = None
    rack: str | None = None
    tags: dict[str, str] = {}
    platform: str | None = None
    os_distro: str | None = None
    agent_version: str | None = None
    cpu_load: Percent | None = None
    cpu_logical_cores: Count | None = None
    memory_used_percent: Percent | None = None
    memory_total_bytes: Bytes | None = None
    swap_used_percent: Percent | None = None
    load_average: NonNegativeFloat | None = None
    uptime_seconds: NonNegativeFloat | None = None
    net_tx_bps: NonNegativeFloat | None = None  # bits per second, from counter deltas
    net_rx_bps: NonNegativeFloat | None = None
    disk_used_percent: Percent | None = None  # the fullest disk
    temperature_max_celsius: float | None = None
    gpu_count: Count = 0
    gpu_utilization_percent: Percent | None = None  # mean over the host's GPUs
    active_alerts: Count = 0


class LinkView(msgspec.Struct, frozen=True, kw_only=True):
    """A network link the HUD draws between two nodes; None means unknown."""

    id: str
    source: str
    target: str
    interface: str | None = None
    throughput_bps: NonNegativeFloat | None = None
    capacity_bps: NonNegativeFloat | None = None
    utilization: NonNegativeFloat | None = None  # throughput / capacity; 1.0 is full


class TwinEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened between two frames, for the HUD's event log."""

    kind: Literal["host_added", "host_removed", "status_changed"]
    host_id: HostId
    timestamp: AwareDatetime
    previous: HostStatus | None = None
    current: HostStatus | None = None
    message: str = ""


class TwinFrame(msgspec.Struct, frozen=True, kw_only=True, tag="frame", tag_field="type"):
    """The whole twin at one moment (``"type": "frame"`` on the wire)."""

    twin_id: str
    generated_at: AwareDatetime
    seq: Count
    hosts: list[HostView] = []
    links: list[LinkView] = []


class TwinDiff(msgspec.Struct, frozen=True, kw_only=True, tag="diff", tag_field="type"):
    """What changed since frame or diff ``base_seq`` (``"type": "diff"`` on the wire).

    A client applies a diff only when ``base_seq`` is the ``seq`` it last applied; otherwise it
    has missed one and must fetch a new frame.
    """

    twin_id: str
    generated_at: AwareDatetime
    seq: Count
    base_seq: Count
    hosts: list[HostView] = []  # added or changed, whole
    removed_hosts: list[str] = []  # host ids
    links: list[LinkView] = []  # added or changed, whole
    removed_links: list[str] = []  # link ids
    events: list[TwinEvent] = []

    def __post_init__(self) -> None:
        if self.seq <= self.base_seq:
            raise ValueError(
                f"a diff's seq must be greater than its base_seq, got seq={self.seq} "
                f"base_seq={self.base_seq}"
            )


TwinMessage = TwinFrame | TwinDiff
