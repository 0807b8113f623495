"""Host status (online / stale / offline) from the time since its last sample, and its changes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from mirror_derive.intervals import DEFAULT_INTERVAL_SECONDS, silent_intervals

__all__ = ["HostStatus", "StatusPolicy", "StatusTracker", "StatusTransition", "status_of"]

HostStatus = Literal["online", "stale", "offline"]


class StatusPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How many of a host's own intervals of silence make it stale, then offline."""

    stale_after_intervals: float = 3.0
    offline_after_intervals: float = 12.0
    # For agents that do not report interval_seconds (the original agent).
    default_interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if not 0 < self.stale_after_intervals < self.offline_after_intervals:
            raise ValueError(
                "StatusPolicy needs 0 < stale_after_intervals < offline_after_intervals, got "
                f"stale_after_intervals={self.stale_after_intervals!r}, "
                f"offline_after_intervals={self.offline_after_intervals!r}"
            )
        if not self.default_interval_seconds > 0:
            raise ValueError(
                "StatusPolicy.default_interval_seconds must be > 0, got "
                f"{self.default_interval_seconds!r}"
            )


class StatusTransition(msgspec.Struct, frozen=True, kw_only=True):
    """A host's status changed at ``at``; ``previous`` is None the first time it is seen."""

    host_id: str
    previous: HostStatus | None
    current: HostStatus
    at: datetime


def status_of(
    last_seen: datetime,
    interval_seconds: float | None,
    now: datetime,
    policy: StatusPolicy,
) -> HostStatus:
    """Return the status of a host last heard from at ``last_seen``, as of ``now``.

    Stale once the silence is longer than ``stale_after_intervals`` of the host's own interval,
    offline once longer than ``offline_after_intervals``; exactly on a threshold still counts as
    the better status. A ``last_seen`` in the future (clock skew) counts as online.
    """
    silence = silent_intervals(last_seen, interval_seconds, now, policy.default_interval_seconds)
    if silence > policy.offline_after_intervals:
        return "offline"
    if silence > policy.stale_after_intervals:
        return "stale"
    return "online"


class _Seen(msgspec.Struct, kw_only=True):
    last_seen: datetime
    interval_seconds: float | None
    status: HostStatus


class StatusTracker:
    """Each host's current status; reports a transition only when a status changes.

    Call :meth:`observe` when a sample arrives and :meth:`sweep` on a timer, so a host that
    goes silent does go stale and then offline. A sweep that runs late can move a host from
    online straight to offline: that is one transition, not two.
    """

    def __init__(self, policy: StatusPolicy | None = None) -> None:
        self._policy = policy if policy is not None else StatusPolicy()
        self._hosts: dict[str, _Seen] = {}

    @property
    def policy(self) -> StatusPolicy:
        """The thresholds this tracker applies."""
        return self._policy

    def status(self, host_id: str) -> HostStatus | None:
        """Return the host's current status, or None if it has never been observed."""
        seen = self._hosts.get(host_id)
        return None if seen is None else seen.status

    def statuses(self) -> dict[str, HostStatus]:
        """Return every known host's current status, by host id."""
        return {host_id: seen.status for host_id, seen in self._hosts.items()}

    def observe(
        self,
        host_id: str,
        last_seen: datetime,
        interval_seconds: float | None,
        now: datetime,
    ) -> list[StatusTransition]:
        """Record a sample from ``host_id`` that arrived at ``last_seen``; return any transition.

        An observation older than the one already held (a late redelivery) does not move
        ``last_seen`` back, so it cannot make a host look staler than it is.
        """
        seen = self._hosts.get(host_id)
        if seen is None:
            status = status_of(last_seen, interval_seconds, now, self._policy)
            self._hosts[host_id] = _Seen(
                last_seen=last_seen, interval_seconds=interval_seconds, status=status
            )
            return [StatusTransition(host_id=host_id, previous=None, current=status, at=now)]
        if last_seen >= seen.last_seen:
            seen.last_seen = last_seen
            seen.interval_seconds = interval_seconds
        return self._reevaluate(host_id, seen, now)

    def sweep(self, now: datetime) -> list[StatusTransition]:
        """Re-evaluate every host as of ``now``; return the transitions, sorted by host id."""
        transitions: list[StatusTransition] = []
        for host_id in sorted(self._hosts):
            transitions.extend(self._reevaluate(host_id, self._hosts[host_id], now))
        return transitions

    def forget(self, host_id: str) -> None:
        """Stop tracking ``host_id`` (an operator removed it); unknown ids are ignored."""
        self._hosts.pop(host_id, None)

    def _reevaluate(self, host_id: str, seen: _Seen, now: datetime) -> list[StatusTransition]:
        status = status_of(seen.last_seen, seen.interval_seconds, now, self._policy)
        if status == seen.status:
            return []
        previous, seen.status = seen.status, status
        return [StatusTransition(host_id=host_id, previous=previous, current=status, at=now)]
