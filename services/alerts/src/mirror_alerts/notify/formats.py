"""Request bodies: a Notification as `generic`, `slack` or `ntfy` JSON (pure).

`generic` is our own format, for automation; every field is always present::

    {"version": 1,                       # bumped only if a field changes meaning
     "kind": "firing",                   # firing | repeat | resolved
     "status": "firing",                 # firing | resolved
     "rule_id": "cpu-high", "host_id": "web-01",
     "severity": "critical",             # the worst of the alerts
     "title": "[CRITICAL] cpu-high firing on web-01",
     "message": "host: CPU above 90% (value 97, threshold 90)",   # the lines, capped
     "timestamp": "2026-05-01T12:00:00Z",
     "tags": {"env": "prod"},            # the host's tags
     "alerts": [AlertEvent, ...]}        # every alert of the group, as on alerts.events.<host>

`slack` and `ntfy` are described in their modules.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from mirror_alerts.notify.model import Notification, NotificationKind
from mirror_alerts.notify.ntfy import ntfy_body
from mirror_alerts.notify.receivers import Receiver
from mirror_alerts.notify.slack import slack_body
from mirror_alerts.notify.text import lines, title
from mirror_schema.alerts import AlertEvent, AlertSeverity
from mirror_schema.common import AwareDatetime

__all__ = ["GenericBody", "generic_body", "render"]

_encode = msgspec.json.Encoder().encode


class GenericBody(msgspec.Struct, frozen=True, kw_only=True):
    """Our documented JSON body (see the module docstring)."""

    version: int = 1
    kind: NotificationKind
    status: Literal["firing", "resolved"]
    rule_id: str
    host_id: str
    severity: AlertSeverity
    title: str
    message: str
    timestamp: AwareDatetime
    tags: dict[str, str]
    alerts: list[AlertEvent]


def generic_body(notification: Notification) -> GenericBody:
    """The generic body of `notification`."""
    n = notification
    return GenericBody(
        kind=n.kind,
        status=n.status,
        rule_id=n.rule_id,
        host_id=n.host_id,
        severity=n.severity,
        title=title(n),
        message="\n".join(lines(n)),
        timestamp=n.timestamp,
        tags=dict(n.tags),
        alerts=list(n.alerts),
    )


def render(notification: Notification, receiver: Receiver) -> bytes:
    """The JSON bytes POSTed to `receiver` for `notification`, in the receiver's format."""
    if receiver.format == "slack":
        return _encode(slack_body(notification))
    if receiver.format == "ntfy":
        assert receiver.topic is not None  # Receiver.__post_init__ requires it for ntfy
        return _encode(ntfy_body(notification, topic=receiver.topic))
    return _encode(generic_body(notification))
