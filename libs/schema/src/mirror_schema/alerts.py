"""AlertEvent: a change in one alert's life, published on ``alerts.events.<host>``."""

from __future__ import annotations

from typing import Literal

import msgspec

from mirror_schema.common import AwareDatetime, NonNegativeFloat
from mirror_schema.hosts import HostId

__all__ = ["AlertEvent", "AlertSeverity", "AlertState"]

AlertSeverity = Literal["info", "warning", "critical"]
AlertState = Literal["firing", "acknowledged", "resolved"]


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An alert fired, was acknowledged or resolved for one resource of one host."""

    alert_id: str
    rule_id: str
    host_id: HostId
    severity: AlertSeverity
    state: AlertState
    message: str
    timestamp: AwareDatetime
    resource: str = ""  # what on the host, e.g. "disk:/" or "gpu:0"; "" for the host itself
    value: float | None = None  # the observed value that crossed the threshold
    threshold: float | None = None
    acknowledged_by: str | None = None
    duration_seconds: NonNegativeFloat | None = None  # how long it has been firing
    metric: str = ""  # what the rule watches, e.g. "cpu_load"; "host.offline" for offline
