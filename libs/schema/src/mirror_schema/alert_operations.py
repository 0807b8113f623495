"""The alerts service's API operations, each declared once: both its doors (HTTP and NATS),
the twin's forwarding and docs/openapi.json are built from these (mirror_schema.api)."""

from __future__ import annotations

from typing import Final

from mirror_schema import subjects
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    AlertRecord,
    CreateSilenceRequest,
    GetAlertRequest,
    IdRequest,
    ListAlertsRequest,
    PreviewRuleRequest,
    ReceiverRecord,
    RulePreview,
    RuleRecord,
    SilenceRecord,
    UpdateRuleRequest,
    WriteRuleRequest,
)
from mirror_schema.api import Http, Items, NoRequest, Operation, Removed

__all__ = [
    "ACK",
    "ACTIVE",
    "GET",
    "LIST",
    "OPERATIONS",
    "RECEIVERS_LIST",
    "RULES_CREATE",
    "RULES_DELETE",
    "RULES_GET",
    "RULES_LIST",
    "RULES_PREVIEW",
    "RULES_UPDATE",
    "SILENCES_CREATE",
    "SILENCES_EXPIRE",
    "SILENCES_LIST",
]

SERVICE: Final = "alerts"
_BAD: Final = ("invalid", "malformed")
_MISSING: Final = ("invalid", "malformed", "not_found")

ACTIVE: Final = Operation(
    service=SERVICE,
    name="active",
    summary="Open alerts (firing or acknowledged), newest first",
    request=ActiveAlertsRequest,
    result=Items[AlertRecord],
    subject=subjects.ALERTS_API_ACTIVE,
    http=Http(method="GET", path="/api/alerts/active", query=True),
    errors=_BAD,
)
LIST: Final = Operation(
    service=SERVICE,
    name="list",
    summary="Alerts fired since a time, newest first, whatever their state now",
    request=ListAlertsRequest,
    result=Items[AlertRecord],
    subject=subjects.ALERTS_API_LIST,
    http=Http(method="GET", path="/api/alerts", query=True),
    errors=_BAD,
)
RULES_LIST: Final = Operation(
    service=SERVICE,
    name="rules_list",
    summary="Every rule, enabled or not, by id",
    request=NoRequest,
    result=Items[RuleRecord],
    subject=subjects.ALERTS_API_RULES_LIST,
    http=Http(method="GET", path="/api/alerts/rules"),
    errors=(),
)
RULES_GET: Final = Operation(
    service=SERVICE,
    name="rules_get",
    summary="One rule",
    request=IdRequest,
    result=RuleRecord,
    subject=subjects.ALERTS_API_RULES_GET,
    http=Http(method="GET", path="/api/alerts/rules/{id}"),
    errors=_MISSING,
)
RULES_CREATE: Final = Operation(
    service=SERVICE,
    name="rules_create",
    summary="Store a new rule (the body is the rule); every replica's evaluator picks it up",
    request=WriteRuleRequest,
    result=RuleRecord,
    subject=subjects.ALERTS_API_RULES_CREATE,
    http=Http(method="POST", path="/api/alerts/rules", whole_body="rule", status=201),
    errors=("invalid", "malformed", "conflict"),
    actor="by",
)
RULES_UPDATE: Final = Operation(
    service=SERVICE,
    name="rules_update",
    summary="Replace a rule (the body is the rule)",
    request=UpdateRuleRequest,
    result=RuleRecord,
    subject=subjects.ALERTS_API_RULES_UPDATE,
    http=Http(method="PUT", path="/api/alerts/rules/{id}", whole_body="rule"),
    errors=_MISSING,
    actor="by",
)
RULES_DELETE: Final = Operation(
    service=SERVICE,
    name="rules_delete",
    summary="Delete a rule; its open alerts resolve",
    request=IdRequest,
    result=Removed,
    subject=subjects.ALERTS_API_RULES_DELETE,
    http=Http(method="DELETE", path="/api/alerts/rules/{id}", no_content=True),
    errors=_MISSING,
)
RULES_PREVIEW: Final = Operation(
    service=SERVICE,
    name="rules_preview",
    summary="Which hosts a rule (the body, not saved) would fire for now, from the evaluator's "
    "latest figures; answered by the evaluating replica",
    request=PreviewRuleRequest,
    result=RulePreview,
    subject=subjects.ALERTS_API_RULES_PREVIEW,
    http=Http(method="POST", path="/api/alerts/rules/preview", whole_body="rule"),
    errors=_BAD,
)
RECEIVERS_LIST: Final = Operation(
    service=SERVICE,
    name="receivers_list",
    summary="The notification receivers, without their secrets, each with its last delivery",
    request=NoRequest,
    result=Items[ReceiverRecord],
    subject=subjects.ALERTS_API_RECEIVERS_LIST,
    http=Http(method="GET", path="/api/alerts/receivers"),
    errors=(),
)
SILENCES_LIST: Final = Operation(
    service=SERVICE,
    name="silences_list",
    summary="Silences in force or to come",
    request=NoRequest,
    result=Items[SilenceRecord],
    subject=subjects.ALERTS_API_SILENCES_LIST,
    http=Http(method="GET", path="/api/alerts/silences"),
    errors=(),
)
SILENCES_CREATE: Final = Operation(
    service=SERVICE,
    name="silences_create",
    summary="Hold back notifications of matching alerts for a window",
    request=CreateSilenceRequest,
    result=SilenceRecord,
    subject=subjects.ALERTS_API_SILENCES_CREATE,
    http=Http(method="POST", path="/api/alerts/silences", status=201),
    errors=_BAD,
    actor="by",
)
SILENCES_EXPIRE: Final = Operation(
    service=SERVICE,
    name="silences_expire",
    summary="End a silence now; its record stays",
    request=IdRequest,
    result=Removed,
    subject=subjects.ALERTS_API_SILENCES_EXPIRE,
    http=Http(method="DELETE", path="/api/alerts/silences/{id}", no_content=True),
    errors=_MISSING,
)
GET: Final = Operation(
    service=SERVICE,
    name="get",
    summary="One alert with its events",
    request=GetAlertRequest,
    result=AlertRecord,
    subject=subjects.ALERTS_API_GET,
    http=Http(method="GET", path="/api/alerts/{id}"),
    errors=_MISSING,
)
ACK: Final = Operation(
    service=SERVICE,
    name="ack",
    summary="Acknowledge a firing alert (an acknowledged one is returned unchanged)",
    request=AckAlertRequest,
    result=AlertRecord,
    subject=subjects.ALERTS_API_ACK,
    http=Http(method="POST", path="/api/alerts/{id}/ack"),
    errors=("invalid", "malformed", "not_found", "conflict"),
    actor="by",
)

# In the order their HTTP routes are matched: the fixed paths before /api/alerts/{id}.
OPERATIONS: Final = (
    ACTIVE,
    LIST,
    RULES_LIST,
    RULES_PREVIEW,
    RULES_GET,
    RULES_CREATE,
    RULES_UPDATE,
    RULES_DELETE,
    RECEIVERS_LIST,
    SILENCES_LIST,
    SILENCES_CREATE,
    SILENCES_EXPIRE,
    GET,
    ACK,
)
