"""Grouping: alert events in, one notification per incident out (pure; `now` is passed in).

A group is (rule, host). Its alerts are keyed by resource, so a group holds at most one
entry per resource of the host (one open alert per (rule, host, resource)).

- A firing alert nobody was told about waits `group_wait`, so that the other resources of
  the host crossing together join it: one `firing` notification lists them all.
- While any alert of the group is still firing (not acknowledged), a `repeat` notification
  follows every `repeat_interval`. Acknowledged alerts stop repeating.
- When every alert of the group has resolved, one `resolved` notification lists those that
  were notified, at the next flush; the group is then forgotten. An incident that resolved
  before anyone was told about it (inside `group_wait`, or while silenced) says nothing.
- `silenced(alert)` is asked at each flush: a silenced alert is left out of notifications
  (the evaluator keeps its record); once its silence ends, it is notified like a new one.
- At most `max_groups` groups: an event that would open one more is refused (`observe`
  returns "overflow") and the dispatcher counts and logs it. Nothing already grouped is
  evicted, so open incidents keep their repeats and resolved messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mirror_alerts.notify.model import Notification, NotificationKind, worst_severity
from mirror_schema.alerts import AlertEvent

__all__ = ["GroupKey", "Grouper", "Observed", "Silenced"]

GroupKey = tuple[str, str]  # (rule_id, host_id)
Silenced = Callable[[AlertEvent], bool]
# accepted: grouped; stale: older than what the group holds for that resource, ignored;
# overflow: would open a group past max_groups, refused.
Observed = Literal["accepted", "stale", "overflow"]


# An alert's states only move forward; its events' timestamps come from different clocks (a
# fire and a resolve from the host's samples, an ack from the API), so they cannot order them.
_STAGE: dict[str, int] = {"firing": 0, "acknowledged": 1, "resolved": 2}


def _is_older(event: AlertEvent, held: AlertEvent) -> bool:
    """Whether ``event`` is behind ``held``: for the same alert, an earlier state (or the same
    state timestamped earlier); for another alert of the resource, an earlier timestamp."""
    if event.alert_id != held.alert_id:
        return event.timestamp < held.timestamp
    stage, held_stage = _STAGE[event.state], _STAGE[held.state]
    if stage != held_stage:
        return stage < held_stage
    return event.timestamp < held.timestamp


@dataclass
class _Tracked:
    event: AlertEvent
    notified: bool = False


@dataclass
class _Group:
    rule_id: str
    host_id: str
    tags: dict[str, str]
    alerts: dict[str, _Tracked] = field(default_factory=dict)  # by resource
    pending_since: datetime | None = None  # first un-notified firing alert arrived
    last_sent: datetime | None = None
    # When flush() must look at the group again: after an event (dirty), at its next wait or
    # repeat (next_due), or at every flush while some of its alerts are silenced (watch: the
    # silence may end). The others are skipped, so a flush over 20,000 quiet groups is cheap.
    dirty: bool = True
    next_due: datetime | None = None
    watch: bool = False


class Grouper:
    """Turns a stream of AlertEvents into few notifications; no I/O, no clock of its own."""

    def __init__(
        self,
        *,
        group_wait: timedelta = timedelta(seconds=15),
        repeat_interval: timedelta = timedelta(hours=4),
        max_groups: int = 10_000,
    ) -> None:
        if group_wait < timedelta(0):
            raise ValueError(f"group_wait: must be >= 0, got {group_wait}")
        if repeat_interval <= timedelta(0):
            raise ValueError(f"repeat_interval: must be > 0, got {repeat_interval}")
        if max_groups < 1:
            raise ValueError(f"max_groups: must be >= 1, got {max_groups}")
        self.group_wait = group_wait
        self.repeat_interval = repeat_interval
        self.max_groups = max_groups
        self._groups: dict[GroupKey, _Group] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def observe(
        self, event: AlertEvent, *, now: datetime, tags: Mapping[str, str] | None = None
    ) -> Observed:
        """Record `event` in its group; `tags` are the host's, for receivers' matchers."""
        key = (event.rule_id, event.host_id)
        group = self._groups.get(key)
        if group is None:
            if event.state == "resolved":
                return "accepted"  # nothing was open here, so nothing to tell
            if len(self._groups) >= self.max_groups:
                return "overflow"
            group = _Group(rule_id=event.rule_id, host_id=event.host_id, tags={})
            self._groups[key] = group
        if tags is not None:
            group.tags = dict(tags)
        group.dirty = True
        tracked = group.alerts.get(event.resource)
        if tracked is not None and _is_older(event, tracked.event):
            return "stale"  # e.g. a redelivery after the alert moved on
        if tracked is None or tracked.event.alert_id != event.alert_id:
            # A new alert for this resource (a new incident): nobody was told about it.
            if event.state == "resolved":
                return "accepted"
            tracked = _Tracked(event)
            group.alerts[event.resource] = tracked
        else:
            tracked.event = event
        if event.state != "resolved" and not tracked.notified and group.pending_since is None:
            group.pending_since = now
        return "accepted"

    def adopt(
        self, event: AlertEvent, *, now: datetime, tags: Mapping[str, str] | None = None
    ) -> Observed:
        """Take an alert open before a restart as already told: no second `firing`
        notification; its repeats and its `resolved` message follow as usual."""
        outcome = self.observe(event, now=now, tags=tags)
        group = self._groups.get((event.rule_id, event.host_id))
        if outcome != "accepted" or group is None:
            return outcome
        tracked = group.alerts.get(event.resource)
        if tracked is not None and tracked.event.alert_id == event.alert_id:
            tracked.notified = True
        if all(t.notified for t in group.alerts.values()):
            group.pending_since = None
        if group.last_sent is None:
            group.last_sent = now
        return outcome

    def flush(self, *, now: datetime, silenced: Silenced | None = None) -> list[Notification]:
        """The notifications due at `now`; call it on a timer (every second or so)."""
        out: list[Notification] = []
        for key, group in list(self._groups.items()):
            due = group.next_due is not None and now >= group.next_due
            if not (group.dirty or group.watch or due):
                continue
            group.dirty = False
            notification = self._flush_group(group, now, silenced)
            if notification is not None:
                out.append(notification)
            if all(t.event.state == "resolved" for t in group.alerts.values()):
                del self._groups[key]
            else:
                self._schedule(group)
        return out

    def _schedule(self, group: _Group) -> None:
        dues: list[datetime] = []
        if group.pending_since is not None:
            dues.append(group.pending_since + self.group_wait)
        firing = any(t.event.state == "firing" for t in group.alerts.values())
        if group.last_sent is not None and firing:
            dues.append(group.last_sent + self.repeat_interval)
        group.next_due = min(dues, default=None)

    def _flush_group(
        self, group: _Group, now: datetime, silenced: Silenced | None
    ) -> Notification | None:
        open_ = [t for t in group.alerts.values() if t.event.state != "resolved"]
        if not open_:
            told = [t for t in group.alerts.values() if t.notified]
            return self._make(group, "resolved", told, now) if told else None
        visible = [t for t in open_ if silenced is None or not silenced(t.event)]
        group.watch = len(visible) < len(open_)
        fresh = any(not t.notified for t in visible)
        if not fresh:
            group.pending_since = None  # what waited resolved or was silenced meanwhile
        elif group.pending_since is None or now >= group.pending_since + self.group_wait:
            # pending_since is None here only when a silence ended: no reason to wait more.
            for tracked in visible:
                tracked.notified = True
            group.pending_since = None
            group.last_sent = now
            return self._make(group, "firing", visible, now)
        else:
            return None
        repeat_due = group.last_sent is not None and now >= group.last_sent + self.repeat_interval
        if repeat_due and any(t.event.state == "firing" for t in visible):
            group.last_sent = now
            return self._make(group, "repeat", visible, now)
        return None

    @staticmethod
    def _make(
        group: _Group, kind: NotificationKind, tracked: list[_Tracked], now: datetime
    ) -> Notification:
        alerts = tuple(sorted((t.event for t in tracked), key=lambda a: a.resource))
        return Notification(
            kind=kind,
            rule_id=group.rule_id,
            host_id=group.host_id,
            severity=worst_severity(alerts),
            alerts=alerts,
            timestamp=now,
            tags=dict(group.tags),
        )
