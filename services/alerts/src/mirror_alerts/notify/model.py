"""Notification: one message about one incident (a rule on a host), whatever the format."""

from __future__ import annotations

from typing import Literal

import msgspec

from mirror_schema.alerts import AlertEvent, AlertSeverity
from mirror_schema.common import AwareDatetime

__all__ = ["SEVERITY_RANK", "Notification", "NotificationKind", "worst_severity"]

# firing: alerts nobody was told about yet; repeat: still firing after the repeat interval;
# resolved: every alert of the group cleared.
NotificationKind = Literal["firing", "repeat", "resolved"]

SEVERITY_RANK: dict[AlertSeverity, int] = {"info": 0, "warning": 1, "critical": 2}


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """What receivers are told about one (rule, host) group at one moment."""

    kind: NotificationKind
    rule_id: str
    host_id: str
    severity: AlertSeverity  # the worst of the alerts listed
    alerts: tuple[AlertEvent, ...]  # the latest event of each resource, ordered by resource
    timestamp: AwareDatetime  # when the notification was made
    tags: dict[str, str] = {}  # the host's tags, for receivers' matchers

    @property
    def status(self) -> Literal["firing", "resolved"]:
        """`resolved` for a resolved message, `firing` for the others."""
        return "resolved" if self.kind == "resolved" else "firing"


def worst_severity(alerts: tuple[AlertEvent, ...]) -> AlertSeverity:
    """The most severe severity among `alerts` (`info` for none)."""
    return max((a.severity for a in alerts), key=SEVERITY_RANK.__getitem__, default="info")
