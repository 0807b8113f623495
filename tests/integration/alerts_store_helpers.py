"""The alerts store's test data: rules and alert changes with chosen fields."""

from datetime import UTC, datetime

import msgspec

from mirror_alerts.evaluation.alert_state import (
    AlertChange,
    ChangeKind,
    alert_id_for,
)
from mirror_alerts.rules import ThresholdRule

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def user_rule(**changes: object) -> ThresholdRule:
    rule = ThresholdRule(
        id="disk-full",
        name="Disk full",
        metric="disk.used_percent",
        operator=">=",
        threshold=95.0,
        clear_threshold=90.0,
        for_seconds=30.0,
        severity="critical",
    )
    return msgspec.structs.replace(rule, **changes)


def change(
    kind: ChangeKind,
    at: datetime,
    *,
    host_id: str = "web-01",
    rule_id: str = "default-cpu-high",
    started_at: datetime = T0,
    **fields: object,
) -> AlertChange:
    base = AlertChange(
        kind=kind,
        alert_id=alert_id_for(rule_id, host_id, "", started_at),
        rule_id=rule_id,
        host_id=host_id,
        resource="",
        metric="cpu_load",
        severity="warning",
        at=at,
        message=f"{kind} on {host_id}",
        value=93.0,
        threshold=80.0,
    )
    return msgspec.structs.replace(base, **fields)
