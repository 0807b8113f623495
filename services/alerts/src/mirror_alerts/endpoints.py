"""The alerts service's doors: which AlertsApi function answers each operation declared in
mirror_schema.alert_operations, and the NATS door serving them in the queue group ``alerts``
(the HTTP door, mirror_alerts.app, mounts the same table). No business rules. The rule
preview is the evaluating replica's alone (mirror_alerts.previewing).
"""

from __future__ import annotations

from typing import Any

import nats.aio.client

from mirror_alerts import metrics
from mirror_alerts.operations import AlertsApi
from mirror_runtime.implementations import Implementation, implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema import alert_operations as ops
from mirror_schema import subjects
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    AlertRecord,
    CreateSilenceRequest,
    GetAlertRequest,
    IdRequest,
    ListAlertsRequest,
    ReceiverRecord,
    RuleRecord,
    SilenceRecord,
    UpdateRuleRequest,
    WriteRuleRequest,
)
from mirror_schema.api import Items, NoRequest, Removed

__all__ = ["implementations", "nats_door"]


def implementations(api: AlertsApi) -> list[Implementation[Any, Any]]:
    """Every operation of the service with the function carrying it out."""

    async def active(request: ActiveAlertsRequest, _actor: str | None) -> Items[AlertRecord]:
        return Items(items=await api.active(request))

    async def history(request: ListAlertsRequest, _actor: str | None) -> Items[AlertRecord]:
        return Items(items=await api.history(request))

    async def rules(_request: NoRequest, _actor: str | None) -> Items[RuleRecord]:
        return Items(items=await api.rules())

    async def rule(request: IdRequest, _actor: str | None) -> RuleRecord:
        return await api.rule(request.id)

    async def create_rule(request: WriteRuleRequest, _actor: str | None) -> RuleRecord:
        return await api.create_rule(request)

    async def update_rule(request: UpdateRuleRequest, _actor: str | None) -> RuleRecord:
        return await api.replace_rule(
            request.id, WriteRuleRequest(rule=request.rule, by=request.by)
        )

    async def delete_rule(request: IdRequest, _actor: str | None) -> Removed:
        await api.delete_rule(request.id)
        return Removed(id=request.id)

    async def receivers(_request: NoRequest, _actor: str | None) -> Items[ReceiverRecord]:
        return Items(items=await api.receivers_list())

    async def silences(_request: NoRequest, _actor: str | None) -> Items[SilenceRecord]:
        return Items(items=await api.silences())

    async def create_silence(request: CreateSilenceRequest, _actor: str | None) -> SilenceRecord:
        return await api.create_silence(request)

    async def expire_silence(request: IdRequest, _actor: str | None) -> Removed:
        await api.expire_silence(request.id)
        return Removed(id=request.id)

    async def get(request: GetAlertRequest, _actor: str | None) -> AlertRecord:
        return await api.get(request.id)

    async def ack(request: AckAlertRequest, _actor: str | None) -> AlertRecord:
        return await api.acknowledge(request)

    return [
        implement(ops.ACTIVE, active),
        implement(ops.LIST, history),
        implement(ops.RULES_LIST, rules),
        implement(ops.RULES_GET, rule),
        implement(ops.RULES_CREATE, create_rule),
        implement(ops.RULES_UPDATE, update_rule),
        implement(ops.RULES_DELETE, delete_rule),
        implement(ops.RECEIVERS_LIST, receivers),
        implement(ops.SILENCES_LIST, silences),
        implement(ops.SILENCES_CREATE, create_silence),
        implement(ops.SILENCES_EXPIRE, expire_silence),
        implement(ops.GET, get),
        implement(ops.ACK, ack),
    ]


def nats_door(nc: nats.aio.client.Client, api: AlertsApi) -> NatsDoor:
    """The service's request/reply subscriptions, in the queue group ``alerts``."""
    return NatsDoor(
        nc, implementations(api), queue=subjects.ALERTS_QUEUE_GROUP, requests=metrics.REQUESTS
    )
