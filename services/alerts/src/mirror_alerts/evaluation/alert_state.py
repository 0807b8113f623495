"""Plain values of the evaluator: open alerts, pending timers, changes out, and the snapshot."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import msgspec

from mirror_schema.alert_api import AlertRecord
from mirror_schema.alerts import AlertEvent, AlertSeverity, AlertState

__all__ = [
    "AlertChange",
    "ChangeKind",
    "EvaluatorSnapshot",
    "HostSeen",
    "OpenAlert",
    "PendingTimer",
    "alert_id_for",
    "as_alert_event",
    "change_of_event",
    "event_of_open",
    "open_alert_of",
]

ChangeKind = Literal["fired", "acknowledged", "resolved"]
SNAPSHOT_VERSION = 1

_STATE_OF: dict[ChangeKind, AlertState] = {
    "fired": "firing",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
}


class OpenAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert that fired and has not resolved; at most one per (rule, host, resource)."""

    alert_id: str
    rule_id: str
    host_id: str
    resource: str
    metric: str  # "host.offline" for the offline rule
    severity: AlertSeverity
    started_at: datetime  # when the condition first held (the pending timer's start)
    fired_at: datetime
    value: float | None
    threshold: float | None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


class PendingTimer(msgspec.Struct, frozen=True, kw_only=True):
    """A condition that holds but not yet for ``for_seconds``; ``started_at`` is kept on restore."""

    rule_id: str
    host_id: str
    resource: str
    started_at: datetime


class HostSeen(msgspec.Struct, frozen=True, kw_only=True):
    """What the evaluator remembers of a host between samples, for offline and redelivery.

    ``last_sample_at`` is the newest sample's own timestamp (older redeliveries are skipped),
    ``last_arrival_at`` the ``now`` it arrived (silence for the offline rule is measured on the
    evaluator's clock, so host clock skew cannot make a host look offline).
    """

    host_id: str
    last_arrival_at: datetime
    last_sample_at: datetime | None = None  # None: known only from an alert or timer
    interval_seconds: float | None = None
    tags: dict[str, str] = {}


class EvaluatorSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to resume evaluation after a restart without firing anything twice."""

    version: int = SNAPSHOT_VERSION
    open_alerts: list[OpenAlert] = []
    pending: list[PendingTimer] = []
    hosts: list[HostSeen] = []


class AlertChange(msgspec.Struct, frozen=True, kw_only=True):
    """One change in an alert's life, for the service to store, publish and notify."""

    kind: ChangeKind
    alert_id: str
    rule_id: str
    host_id: str
    resource: str
    metric: str
    severity: AlertSeverity
    at: datetime
    message: str
    value: float | None = None
    threshold: float | None = None
    duration_seconds: float | None = None  # fired -> resolved, on "resolved"
    acknowledged_by: str | None = None


def alert_id_for(rule_id: str, host_id: str, resource: str, started_at: datetime) -> str:
    """Return the id of the alert of this key whose condition started at ``started_at``.

    Deterministic: replaying the same samples after a crash (before the snapshot was saved)
    gives the same id, so the store and ``Nats-Msg-Id`` deduplicate the repeated fire.
    """
    key = f"{rule_id}\x00{host_id}\x00{resource}\x00{started_at.isoformat()}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def as_alert_event(change: AlertChange) -> AlertEvent:
    """Return the ``alerts.events.<host>`` message of ``change``."""
    return AlertEvent(
        alert_id=change.alert_id,
        rule_id=change.rule_id,
        host_id=change.host_id,
        severity=change.severity,
        state=_STATE_OF[change.kind],
        message=change.message,
        timestamp=change.at,
        resource=change.resource,
        value=change.value,
        threshold=change.threshold,
        acknowledged_by=change.acknowledged_by,
        duration_seconds=change.duration_seconds,
        metric=change.metric,
    )


_KIND_OF: dict[AlertState, ChangeKind] = {state: kind for kind, state in _STATE_OF.items()}


def change_of_event(event: AlertEvent) -> AlertChange:
    """The change ``event`` published: what the store keeps of it."""
    return AlertChange(
        kind=_KIND_OF[event.state],
        alert_id=event.alert_id,
        rule_id=event.rule_id,
        host_id=event.host_id,
        resource=event.resource,
        metric=event.metric,
        severity=event.severity,
        at=event.timestamp,
        message=event.message,
        value=event.value,
        threshold=event.threshold,
        duration_seconds=event.duration_seconds,
        acknowledged_by=event.acknowledged_by,
    )


def open_alert_of(record: AlertRecord) -> OpenAlert:
    """The evaluator's form of an open alert read back from the store (its condition's start
    is not stored: the fire time stands in for it)."""
    return OpenAlert(
        alert_id=record.alert_id,
        rule_id=record.rule_id,
        host_id=record.host_id,
        resource=record.resource,
        metric=record.metric,
        severity=record.severity,
        started_at=record.fired_at,
        fired_at=record.fired_at,
        value=record.value,
        threshold=record.threshold,
        acknowledged_by=record.acknowledged_by,
        acknowledged_at=record.acknowledged_at,
    )


def event_of_open(alert: OpenAlert) -> AlertEvent:
    """The AlertEvent of an alert open before this replica took over, for the notifier."""
    return AlertEvent(
        alert_id=alert.alert_id,
        rule_id=alert.rule_id,
        host_id=alert.host_id,
        severity=alert.severity,
        state="firing" if alert.acknowledged_by is None else "acknowledged",
        message="open before this replica took over",
        timestamp=alert.fired_at,
        resource=alert.resource,
        value=alert.value,
        threshold=alert.threshold,
        acknowledged_by=alert.acknowledged_by,
        metric=alert.metric,
    )
