"""Building alerts and their changes: the records and messages of a fire, ack or resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from mirror_alerts.evaluation.alert_state import AlertChange, ChangeKind, OpenAlert, alert_id_for
from mirror_alerts.evaluation.rule_index import CompiledThreshold
from mirror_alerts.rules import UPPER_OPERATORS, OfflineRule, Rule, ThresholdRule

__all__ = [
    "OFFLINE_METRIC",
    "change_of",
    "offline_alert",
    "same_signal",
    "threshold_alert",
    "where_text",
]

OFFLINE_METRIC: Final = "host.offline"  # the metric recorded on offline alerts


def where_text(metric: str, resource: str, host_id: str) -> str:
    """Return e.g. "disk.used_percent disk:/ on web-01", for messages."""
    return f"{metric} {resource} on {host_id}" if resource else f"{metric} on {host_id}"


def threshold_alert(
    rule: CompiledThreshold,
    host_id: str,
    resource: str,
    value: float,
    started: datetime,
    at: datetime,
) -> tuple[OpenAlert, str]:
    """Return the alert a threshold rule fires at ``at`` and its message."""
    source = rule.rule
    alert = OpenAlert(
        alert_id=alert_id_for(rule.id, host_id, resource, started),
        rule_id=rule.id,
        host_id=host_id,
        resource=resource,
        metric=rule.metric,
        severity=source.severity,
        started_at=started,
        fired_at=at,
        value=value,
        threshold=rule.threshold,
    )
    where = where_text(rule.metric, resource, host_id)
    return alert, f"{source.name}: {where} is {value:g} ({source.operator} {rule.threshold:g})"


def offline_alert(
    rule: OfflineRule,
    host_id: str,
    last_arrival_at: datetime,
    silence: float,
    limit: float,
    now: datetime,
) -> tuple[OpenAlert, str]:
    """Return the alert the offline rule fires at ``now`` and its message.

    Its id is keyed on the last arrival, so a replayed sweep gives the same id.
    """
    alert = OpenAlert(
        alert_id=alert_id_for(rule.id, host_id, "", last_arrival_at),
        rule_id=rule.id,
        host_id=host_id,
        resource="",
        metric=OFFLINE_METRIC,
        severity=rule.severity,
        started_at=last_arrival_at,
        fired_at=now,
        value=silence,
        threshold=limit,
    )
    return alert, f"{rule.name}: no sample from {host_id} for {silence:.0f} s (limit {limit:g} s)"


def change_of(
    kind: ChangeKind,
    alert: OpenAlert,
    at: datetime,
    message: str,
    *,
    value: float | None = None,
    duration: float | None = None,
    by: str | None = None,
) -> AlertChange:
    """Return the change ``kind`` of ``alert`` at ``at``."""
    return AlertChange(
        kind=kind,
        alert_id=alert.alert_id,
        rule_id=alert.rule_id,
        host_id=alert.host_id,
        resource=alert.resource,
        metric=alert.metric,
        severity=alert.severity,
        at=at,
        message=message,
        value=value,
        threshold=alert.threshold,
        duration_seconds=duration,
        acknowledged_by=by if by is not None else alert.acknowledged_by,
    )


def same_signal(old: Rule, new: Rule) -> bool:
    """Whether ``new`` still watches what ``old`` did (kind, metric, direction).

    If so, open alerts and pending timers carry over a rule edit; if not, they are closed.
    """
    if isinstance(old, ThresholdRule) and isinstance(new, ThresholdRule):
        return old.metric == new.metric and (old.operator in UPPER_OPERATORS) == (
            new.operator in UPPER_OPERATORS
        )
    return type(old) is type(new)
