"""The twin's domain state: each host's latest sample folded into HostViews, links, diffs."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from mirror_derive import Derived, derive
from mirror_schema.hosts import host_id_from_hostname
from mirror_schema.samples import MetricSample, Position
from mirror_schema.twin import (
    HostPatch,
    HostView,
    TwinDiff,
    TwinEvent,
    TwinFrame,
)
from mirror_twin.model.addresses import primary_address
from mirror_twin.model.layout import Group, group_of, layer_of, place, positions_on_layers
from mirror_twin.model.link_table import LinkTable
from mirror_twin.model.patches import host_patch, significant
from mirror_twin.model.status import StatusPolicy, StatusTracker, StatusTransition

__all__ = ["Placement", "TwinState", "host_id_of"]


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """An operator's saved placement: a position, and a layer that overrides the tags' one."""

    layer: int | None
    position: Position


class _Host(msgspec.Struct, kw_only=True):
    latest: MetricSample
    previous: MetricSample | None
    derived: Derived
    booted_at: datetime | None


# Uptime and timestamp are read at slightly different moments, so the boot time they imply
# wobbles by a fraction of a second; it moves only when it moved by more than this (a reboot).
_BOOT_TIME_TOLERANCE = timedelta(seconds=2)


# At most one spread of the unplaced hosts in this long, between diffs.
SPREAD_EVERY_SECONDS = 1.0


def _booted_at(sample: MetricSample, held: datetime | None) -> datetime | None:
    if sample.uptime_seconds is None:
        return None
    booted = (sample.timestamp - timedelta(seconds=sample.uptime_seconds)).replace(microsecond=0)
    if held is not None and abs(booted - held) <= _BOOT_TIME_TOLERANCE:
        return held
    return booted


def host_id_of(sample: MetricSample) -> str:
    """Return the sample's ``host_id``, else the id derived from its hostname.

    Raises ValueError when the hostname yields no id (see ``host_id_from_hostname``).
    """
    return sample.host_id if sample.host_id is not None else host_id_from_hostname(sample.hostname)


def _gpu_utilization(sample: MetricSample) -> float | None:
    """Mean utilization over the GPUs that report one; None when none does."""
    known = [gpu.utilization_percent for gpu in sample.gpus if gpu.utilization_percent is not None]
    return sum(known) / len(known) if known else None


def _event(transition: StatusTransition) -> TwinEvent:
    if transition.previous is None:
        return TwinEvent(
            kind="host_added",
            host_id=transition.host_id,
            timestamp=transition.at,
            current=transition.current,
            message=f"{transition.host_id} appeared ({transition.current})",
        )
    return TwinEvent(
        kind="status_changed",
        host_id=transition.host_id,
        timestamp=transition.at,
        previous=transition.previous,
        current=transition.current,
        message=f"{transition.host_id} went {transition.current} (was {transition.previous})",
    )


class TwinState:
    """Every known host and its uplink, with the changes not yet sent in a frame or diff.

    Pure: no I/O and no clock; every time comes in as ``now``. A fresh state is the empty twin
    at seq 0, so its first diff may use any seq >= 1. :meth:`frame` and :meth:`take_diff` both
    need a seq greater than the last one they were given, and both start a new baseline: the
    next diff holds what changed after them. Events are sent only in diffs.
    """

    def __init__(self, twin_id: str, policy: StatusPolicy | None = None) -> None:
        self._twin_id = twin_id
        self._tracker = StatusTracker(policy)
        self._hosts: dict[str, _Host] = {}
        self._placements: dict[str, Placement] = {}
        self._computed: dict[str, Position] = {}  # spread positions of unplaced hosts
        # Whether _computed is out of date, and when it was last spread: spread at most once
        # every SPREAD_EVERY_SECONDS of diffs (a spread of 10,000 hosts costs ~0.1 s), never
        # once per new host (a fleet appearing at once would cost a spread of every host for
        # each of them); a new host shows at its own slot meanwhile.
        self._spread_stale = False
        self._spread_at: datetime | None = None
        self._changed: set[str] = set()
        self._removed: set[str] = set()
        self._unsaved: set[str] = set()  # hosts changed or removed since the last checkpoint
        self._events: list[TwinEvent] = []
        self._sent_hosts: dict[str, HostView] = {}  # as of the last frame or diff
        self._links = LinkTable()
        self._seq = 0

    @property
    def twin_id(self) -> str:
        """The id every frame and diff carries."""
        return self._twin_id

    @property
    def seq(self) -> int:
        """The seq of the last frame or diff (0 before any)."""
        return self._seq

    def host_count(self) -> int:
        """How many hosts the twin holds."""
        return len(self._hosts)

    def host_ids(self) -> list[str]:
        """Return the known host ids, sorted."""
        return sorted(self._hosts)

    def apply(self, sample: MetricSample, now: datetime) -> None:
        """Fold ``sample`` into its host; one not newer than the host's latest is ignored.

        A late or duplicate sample must not roll the twin back in time. The host is last seen
        at the sample's own timestamp, so a replayed backlog does not look online.
        """
        host_id = host_id_of(sample)
        held = self._hosts.get(host_id)
        if held is not None and sample.timestamp <= held.latest.timestamp:
            return
        transitions = self._hold(host_id, sample, None if held is None else held.latest, now)
        self._events.extend(_event(t) for t in transitions)

    def restore(self, latest: MetricSample, previous: MetricSample | None, now: datetime) -> None:
        """Take a host back from a checkpoint: as if both samples had arrived, without events.

        The host was known before the restart, so it is not announced as added; its status is
        what its last sample makes it as of ``now``.
        """
        host_id = host_id_of(latest)
        held = self._hosts.get(host_id)
        if held is not None and latest.timestamp <= held.latest.timestamp:
            return
        self._hold(host_id, latest, previous, now)

    def take_unsaved(self) -> list[str]:
        """The ids of the hosts changed or removed since the last call, for the checkpoint."""
        unsaved, self._unsaved = sorted(self._unsaved), set()
        return unsaved

    def held(self, host_id: str) -> tuple[MetricSample, MetricSample | None] | None:
        """A host's latest and previous sample, None if it is not (or no longer) known."""
        host = self._hosts.get(host_id)
        return None if host is None else (host.latest, host.previous)

    def keep_unsaved(self, host_ids: list[str]) -> None:
        """Mark ``host_ids`` unsaved again: the checkpoint that took them failed."""
        self._unsaved.update(host_ids)

    def _hold(
        self, host_id: str, sample: MetricSample, previous: MetricSample | None, now: datetime
    ) -> list[StatusTransition]:
        old_key = self._spread_key(host_id)
        held = self._hosts.get(host_id)
        self._links.host_changed(
            host_id,
            topology=held is None
            or held.latest.rack != sample.rack
            or held.latest.tags != sample.tags,
        )
        self._hosts[host_id] = _Host(
            latest=sample,
            previous=previous,
            derived=derive(previous, sample),
            booted_at=_booted_at(sample, None if held is None else held.booted_at),
        )
        self._removed.discard(host_id)
        self._changed.add(host_id)
        self._unsaved.add(host_id)
        transitions = self._tracker.observe(host_id, sample.timestamp, sample.interval_seconds, now)
        if self._spread_key(host_id) != old_key:
            self._spread_stale = True
        return transitions

    def set_placement(self, host_id: str, layer: int | None, position: Position) -> None:
        """Save an operator's placement for ``host_id`` (known yet or not) and apply it.

        Raises ValueError for a layer outside 1-7.
        """
        if layer is not None and not 1 <= layer <= 7:
            raise ValueError(f"layer must be 1-7 or None, got {layer!r}")
        old_key = self._spread_key(host_id)
        self._placements[host_id] = Placement(layer=layer, position=position)
        if host_id in self._hosts:
            self._changed.add(host_id)
        if self._spread_key(host_id) != old_key:
            self._spread_stale = True

    def remove_host(self, host_id: str, now: datetime) -> None:
        """Forget ``host_id`` (an operator removed it); its saved placement is kept."""
        if self._hosts.pop(host_id, None) is None:
            return
        self._tracker.forget(host_id)
        self._changed.discard(host_id)
        self._removed.add(host_id)
        self._unsaved.add(host_id)
        self._links.host_removed()
        self._events.append(
            TwinEvent(
                kind="host_removed", host_id=host_id, timestamp=now, message=f"{host_id} removed"
            )
        )
        self._spread_stale = True

    def sweep(self, now: datetime) -> None:
        """Re-evaluate every host's status as of ``now``; changes become events."""
        for transition in self._tracker.sweep(now):
            self._events.append(_event(transition))
            self._changed.add(transition.host_id)

    def frame(self, seq: int, now: datetime) -> TwinFrame:
        """Return the whole twin as frame ``seq``; the next diff is relative to it."""
        self._settle_spread(now, wait=False)
        self._advance(seq)
        links = self._links.baseline(self._hosts)
        hosts = [self._view(host_id) for host_id in sorted(self._hosts)]
        self._sent_hosts = {host.host_id: host for host in hosts}
        self._changed.clear()
        self._removed.clear()
        return TwinFrame(
            twin_id=self._twin_id,
            generated_at=now,
            seq=seq,
            hosts=hosts,
            links=[links[link] for link in sorted(links)],
        )

    def snapshot(self, now: datetime) -> TwinFrame:
        """The whole twin now, labelled with the last seq handed out; changes nothing.

        For a client joining between diffs: the next diff's base_seq is this seq, and it may
        repeat a host this snapshot already holds, which a client applies again harmlessly.
        """
        self._settle_spread(now, wait=False)
        links = self._links.current(self._hosts)
        return TwinFrame(
            twin_id=self._twin_id,
            generated_at=now,
            seq=self._seq,
            hosts=[self._view(host_id) for host_id in sorted(self._hosts)],
            links=[links[link] for link in sorted(links)],
        )

    def take_diff(self, seq: int, now: datetime) -> TwinDiff | None:
        """Return what changed since the last frame or diff as diff ``seq``, or None if nothing.

        Hosts and links come as patches: the fields that changed, or whole when new. None
        leaves the baseline where it was, so the next diff's ``base_seq`` is unchanged.
        """
        if seq <= self._seq:
            raise ValueError(f"seq must be greater than the last seq {self._seq}, got {seq}")
        self._settle_spread(now, wait=True)
        host_patches: list[HostPatch] = []
        for host_id in sorted(self._changed):
            view = self._view(host_id)
            changed = host_patch(self._sent_hosts.get(host_id), view)
            self._sent_hosts[host_id] = view
            if changed is not None:
                host_patches.append(changed)
        for host_id in self._removed:
            self._sent_hosts.pop(host_id, None)
        link_patches, removed_links = self._links.take_changes(self._hosts)
        self._changed = set()
        if not (host_patches or self._removed or self._events or link_patches or removed_links):
            return None
        diff = TwinDiff(
            twin_id=self._twin_id,
            generated_at=now,
            seq=seq,
            base_seq=self._seq,
            hosts=host_patches,
            removed_hosts=sorted(self._removed),
            links=link_patches,
            removed_links=removed_links,
            events=self._events,
        )
        self._advance(seq)
        self._removed = set()
        self._events = []
        return diff

    def _advance(self, seq: int) -> None:
        if seq <= self._seq:
            raise ValueError(f"seq must be greater than the last seq {self._seq}, got {seq}")
        self._seq = seq

    def _layer(self, host_id: str, sample: MetricSample) -> int:
        saved = self._placements.get(host_id)
        if saved is not None and saved.layer is not None:
            return saved.layer
        return layer_of(sample.tags)

    def _spread_key(self, host_id: str) -> tuple[int, Group] | None:
        """The layer and group a host is spread on, None when it has a position of its own
        (or no host)."""
        host = self._hosts.get(host_id)
        if host is None or host_id in self._placements or host.latest.position is not None:
            return None
        sample = host.latest
        return self._layer(host_id, sample), group_of(sample.tags, sample.rack)

    def _settle_spread(self, now: datetime, *, wait: bool) -> None:
        """Spread the hosts if they need it (when `wait`, not within SPREAD_EVERY_SECONDS of
        the last spread)."""
        if not self._spread_stale:
            return
        last = self._spread_at
        # A clock stepped back (now before the last spread) does not hold spreads off.
        if wait and last is not None and 0 <= (now - last).total_seconds() < SPREAD_EVERY_SECONDS:
            return
        self._spread_at = now
        self._respread()

    def _respread(self) -> None:
        """Recompute spread positions; hosts that moved are marked changed."""
        spread = [
            (host_id, *key)
            for host_id in self._hosts
            if (key := self._spread_key(host_id)) is not None
        ]
        computed = positions_on_layers(spread)
        for host_id, position in computed.items():
            if self._computed.get(host_id) != position:
                self._changed.add(host_id)
        self._computed = computed
        self._spread_stale = False

    def _view(self, host_id: str) -> HostView:
        host = self._hosts[host_id]
        sample, derived = host.latest, host.derived
        saved = self._placements.get(host_id)
        _, position = place(
            host_id,
            sample.tags,
            sample.position,
            None if saved is None else saved.position,
        )
        if saved is None and sample.position is None:
            position = self._computed.get(host_id, position)
        status = self._tracker.status(host_id)
        return HostView(
            host_id=host_id,
            status=status if status is not None else "offline",
            hostname=sample.hostname,
            last_seen=sample.timestamp,
            layer=self._layer(host_id, sample),
            position=position,
            rack=sample.rack,
            tags=dict(sample.tags),
            platform=sample.platform,
            os_distro=sample.os_distro,
            agent_version=sample.agent_version,
            source=sample.source,
            address=primary_address(sample),
            cpu_load=sample.cpu_load,
            cpu_logical_cores=sample.cpu_logical_cores,
            memory_used_percent=sample.memory_used_percent,
            memory_total_bytes=sample.memory_total_bytes,
            swap_used_percent=sample.swap_used_percent,
            load_average=sample.load_average,
            booted_at=host.booted_at,
            net_tx_bits_per_s=significant(derived.total_tx_bits_per_second),
            net_rx_bits_per_s=significant(derived.total_rx_bits_per_second),
            disk_used_percent=None if derived.fullest is None else derived.fullest[1],
            temperature_max_celsius=None if derived.hottest is None else derived.hottest[1],
            gpu_count=len(sample.gpus),
            gpu_utilization_percent=_gpu_utilization(sample),
        )
