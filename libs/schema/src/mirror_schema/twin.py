"""Twin messages: the full frame and the diffs the twin service streams to the HUD."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from mirror_schema.alerts import AlertEvent
from mirror_schema.commands import CommandResult, CommandStatus, OutputChunk
from mirror_schema.common import AwareDatetime, Bytes, Count, NonNegativeFloat, Percent
from mirror_schema.hosts import HostId
from mirror_schema.samples import Position

__all__ = [
    "AlertMessage",
    "CommandOutputMessage",
    "CommandResultMessage",
    "CommandStatusMessage",
    "HostPatch",
    "HostStatus",
    "HostView",
    "LinkPatch",
    "LinkView",
    "TwinDiff",
    "TwinEvent",
    "TwinFrame",
    "TwinMessage",
]

Layer = Annotated[int, msgspec.Meta(ge=1, le=7)]

HostStatus = Literal["online", "stale", "offline"]


class HostView(msgspec.Struct, frozen=True, kw_only=True):
    """What the HUD shows of one host; every reading is None while unknown."""

    host_id: HostId
    status: HostStatus
    hostname: str = ""
    last_seen: AwareDatetime | None = None
    layer: Layer | None = None
    position: Position | None = None
    rack: str | None = None
    tags: dict[str, str] = {}
    platform: str | None = None
    os_distro: str | None = None
    agent_version: str | None = None
    # "scrape": read from its node_exporter by the scraper, no agent (no commands).
    source: Literal["agent", "scrape"] | None = None
    address: str | None = None  # the primary interface's first IPv4 address, else IPv6
    cpu_load: Percent | None = None
    cpu_logical_cores: Count | None = None
    memory_used_percent: Percent | None = None
    memory_total_bytes: Bytes | None = None
    swap_used_percent: Percent | None = None
    load_average: NonNegativeFloat | None = None
    booted_at: AwareDatetime | None = None  # from the sample's uptime; stays put between samples
    net_tx_bits_per_s: NonNegativeFloat | None = None  # bits per second, from counter deltas
    net_rx_bits_per_s: NonNegativeFloat | None = None
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
    throughput_bits_per_s: NonNegativeFloat | None = None
    capacity_bits_per_s: NonNegativeFloat | None = None
    utilization: NonNegativeFloat | None = None  # throughput / capacity; 1.0 is full


# The patches a diff carries: the id, then only the fields whose value changed since the last
# frame or diff (a field left out is unchanged; null means it became unknown). A host or link
# new since then comes whole. They mirror HostView and LinkView field for field, which a unit
# test checks, so that the two cannot drift apart.


class HostPatch(msgspec.Struct, frozen=True, kw_only=True):
    """The changed fields of one host's HostView (all of them for a host new to the diff)."""

    host_id: HostId
    status: HostStatus | UnsetType = UNSET
    hostname: str | UnsetType = UNSET
    last_seen: AwareDatetime | UnsetType | None = UNSET
    layer: Layer | UnsetType | None = UNSET
    position: Position | UnsetType | None = UNSET
    rack: str | UnsetType | None = UNSET
    tags: dict[str, str] | UnsetType = UNSET
    platform: str | UnsetType | None = UNSET
    os_distro: str | UnsetType | None = UNSET
    agent_version: str | UnsetType | None = UNSET
    source: Literal["agent", "scrape"] | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    cpu_load: Percent | UnsetType | None = UNSET
    cpu_logical_cores: Count | UnsetType | None = UNSET
    memory_used_percent: Percent | UnsetType | None = UNSET
    memory_total_bytes: Bytes | UnsetType | None = UNSET
    swap_used_percent: Percent | UnsetType | None = UNSET
    load_average: NonNegativeFloat | UnsetType | None = UNSET
    booted_at: AwareDatetime | UnsetType | None = UNSET
    net_tx_bits_per_s: NonNegativeFloat | UnsetType | None = UNSET
    net_rx_bits_per_s: NonNegativeFloat | UnsetType | None = UNSET
    disk_used_percent: Percent | UnsetType | None = UNSET
    temperature_max_celsius: float | UnsetType | None = UNSET
    gpu_count: Count | UnsetType = UNSET
    gpu_utilization_percent: Percent | UnsetType | None = UNSET
    active_alerts: Count | UnsetType = UNSET


class LinkPatch(msgspec.Struct, frozen=True, kw_only=True):
    """The changed fields of one LinkView (all of them for a link new to the diff)."""

    id: str
    source: str | UnsetType = UNSET
    target: str | UnsetType = UNSET
    interface: str | UnsetType | None = UNSET
    throughput_bits_per_s: NonNegativeFloat | UnsetType | None = UNSET
    capacity_bits_per_s: NonNegativeFloat | UnsetType | None = UNSET
    utilization: NonNegativeFloat | UnsetType | None = UNSET


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
    hosts: list[HostPatch] = []  # added (whole) or changed (the changed fields)
    removed_hosts: list[str] = []  # host ids
    links: list[LinkPatch] = []  # added (whole) or changed (the changed fields)
    removed_links: list[str] = []  # link ids
    events: list[TwinEvent] = []

    def __post_init__(self) -> None:
        if self.seq <= self.base_seq:
            raise ValueError(
                f"a diff's seq must be greater than its base_seq, got seq={self.seq} "
                f"base_seq={self.base_seq}"
            )


# What else the twin's WebSocket carries, so that the HUD needs one connection. These are
# passed on as the bus delivers them, outside the frame/diff seq: a client that falls behind
# misses some, and reads the commands' and alerts' APIs for the whole record.


class AlertMessage(msgspec.Struct, frozen=True, kw_only=True, tag="alert", tag_field="type"):
    """An alert fired, was acknowledged or resolved (from ALERTS)."""

    event: AlertEvent


class CommandStatusMessage(
    msgspec.Struct, frozen=True, kw_only=True, tag="command_status", tag_field="type"
):
    """A command was accepted or started running (from COMMAND_RESULTS)."""

    status: CommandStatus


class CommandResultMessage(
    msgspec.Struct, frozen=True, kw_only=True, tag="command_result", tag_field="type"
):
    """A command finished, with its output (from COMMAND_RESULTS)."""

    result: CommandResult


class CommandOutputMessage(
    msgspec.Struct, frozen=True, kw_only=True, tag="command_output", tag_field="type"
):
    """A piece of a running command's live output (from ``commands.output.>``)."""

    chunk: OutputChunk


TwinMessage = (
    TwinFrame
    | TwinDiff
    | AlertMessage
    | CommandStatusMessage
    | CommandResultMessage
    | CommandOutputMessage
)
