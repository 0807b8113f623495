"""The alerts service's API messages: alerts and their history, acks, rules and silences.

The same messages travel on NATS (``alerts.api.*``, request/reply in the queue group
``alerts``) and, as JSON bodies, on the service's HTTP API (``/api/alerts...``). Every reply
carries its result in a mirror_schema.api.Reply; mirror_schema.alert_operations declares each
operation.

Rules and silence matchers are typed (mirror_schema.alert_rules). A rule to write still comes
as a JSON object: PUT may leave its id out, and the alerts service names the bad field as
``rule.<field>`` after checking it against its metric catalogue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from mirror_schema.alert_rules import Rule, SilenceMatchers
from mirror_schema.alerts import AlertSeverity, AlertState
from mirror_schema.common import AwareDatetime
from mirror_schema.hosts import HostId

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "MAX_LIST_LIMIT",
    "MAX_PREVIEW_MATCHES",
    "AckAlertRequest",
    "ActiveAlertsRequest",
    "Actor",
    "AlertEventRecord",
    "AlertRecord",
    "CreateSilenceRequest",
    "DeliveryOutcome",
    "DeliveryRecord",
    "GetAlertRequest",
    "IdRequest",
    "ListAlertsRequest",
    "PreviewMatch",
    "PreviewRuleRequest",
    "ReceiverRecord",
    "RulePreview",
    "RuleRecord",
    "SilenceRecord",
    "UpdateRuleRequest",
    "WriteRuleRequest",
]

DEFAULT_LIST_LIMIT: Final = 100
MAX_LIST_LIMIT: Final = 1000
# A preview lists this many (host, resource) matches at most; its counts cover them all.
MAX_PREVIEW_MATCHES: Final = 200

Actor = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Comment = Annotated[str, msgspec.Meta(max_length=1000)]
ObjectId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=MAX_LIST_LIMIT)]


class AlertEventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stored change of an alert: fired, acknowledged or resolved, by whom."""

    at: datetime
    kind: str  # fired | acknowledged | resolved
    state: AlertState
    actor: str
    value: float | None
    message: str


class AlertRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as stored: its latest state, and its events when one alert is asked for."""

    alert_id: str
    rule_id: str
    host_id: str
    resource: str
    metric: str
    severity: AlertSeverity
    state: AlertState
    value: float | None
    threshold: float | None
    message: str
    fired_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    duration_seconds: float | None
    events: list[AlertEventRecord] = []


class ActiveAlertsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.active`` and ``GET /api/alerts/active``: open alerts, newest first."""

    host: HostId | None = None


class ListAlertsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.list`` and ``GET /api/alerts``: alerts fired since ``since``, newest first."""

    host: HostId | None = None
    status: AlertState | None = None
    since: AwareDatetime | None = None
    limit: Limit = DEFAULT_LIST_LIMIT


class GetAlertRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.get``: one alert with its events."""

    id: ObjectId


class AckAlertRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.ack`` and ``POST /api/alerts/{id}/ack`` (body: ``by`` only)."""

    id: ObjectId
    by: Actor | None = None


class IdRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.rules.get|delete`` and ``alerts.api.silences.expire``: one object by id."""

    id: ObjectId
    by: Actor | None = None


class WriteRuleRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.rules.create|update``: a rule as a JSON object, with its ``kind``."""

    rule: dict[str, Any]
    by: Actor | None = None


class UpdateRuleRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.rules.update`` and ``PUT /api/alerts/rules/{id}`` (body: the rule): replace
    the rule ``id``; the rule's own ``id`` may be left out, or must match."""

    id: ObjectId
    rule: dict[str, Any]
    by: Actor | None = None


class CreateSilenceRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.silences.create`` and ``POST /api/alerts/silences``.

    The window is ``starts_at`` (default now) to ``ends_at``, or ``duration_seconds`` from
    its start; exactly one of the two ends.
    """

    matchers: SilenceMatchers
    ends_at: AwareDatetime | None = None
    duration_seconds: Annotated[float, msgspec.Meta(gt=0)] | None = None
    starts_at: AwareDatetime | None = None
    comment: Comment = ""
    by: Actor | None = None


class RuleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A rule as stored: the rule itself, and who created and last changed it, when."""

    rule: Rule
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


class SilenceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A silence: notifications of matching alerts are held back from start to end."""

    id: str
    matchers: SilenceMatchers
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""


class PreviewRuleRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``alerts.api.rules.preview`` and ``POST /api/alerts/rules/preview`` (body: the rule,
    checked as a rule to create is, except that ``id`` and ``name`` may be left out): the
    hosts it would fire for now. Nothing is saved."""

    rule: dict[str, Any]


class PreviewMatch(msgspec.Struct, frozen=True, kw_only=True):
    """One host (and resource: "" for the host itself, else e.g. ``disk:/``) whose latest
    figure meets the rule's condition; ``value`` is that figure (offline: seconds silent)."""

    host_id: str
    resource: str
    value: float


class RulePreview(msgspec.Struct, frozen=True, kw_only=True):
    """Which hosts a rule would fire for, judged on the evaluator's latest figure of each host
    (``for_seconds`` is not waited for, and a disabled rule is judged as if enabled).

    ``matches`` is sorted by host and resource and holds at most MAX_PREVIEW_MATCHES
    (``truncated`` then); the counts cover every host. ``hosts_without_reading``: hosts in
    scope with no figure of the metric (no GPU, no link speed, no sample since a restart).
    """

    matches: list[PreviewMatch]
    hosts_matching: int
    hosts_in_scope: int
    hosts_known: int
    hosts_without_reading: int
    truncated: bool
    evaluated_at: datetime


# sent: 2xx; rejected: a 4xx not worth retrying; gave_up: retries ran out; crashed: a bug.
DeliveryOutcome = Literal["sent", "rejected", "gave_up", "crashed"]


class DeliveryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """How a receiver's latest notification ended: when, after how many attempts, the last
    HTTP status and transport error, and which notification it was."""

    at: datetime
    outcome: DeliveryOutcome
    attempts: int
    status: int | None
    error: str | None
    kind: str  # firing | repeat | resolved
    rule_id: str
    host_id: str


class ReceiverRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A notification receiver as configured, without its secrets: ``destination`` is its
    URL's scheme and host alone (a Slack webhook's path is the secret), headers are not
    shown. ``last_delivery`` is None until one was attempted."""

    name: str
    format: str
    destination: str
    severities: list[AlertSeverity]
    tags: dict[str, str]
    send_resolved: bool
    last_delivery: DeliveryRecord | None
