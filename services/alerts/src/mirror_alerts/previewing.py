"""A rule's preview (alerts.api.rules.preview): answered by the evaluating replica alone, for
only it holds each host's latest figures. Its NATS subscription is open while the replica
leads (lead() wraps the engine's term); over HTTP a standby replica says so (503).
"""

from __future__ import annotations

from typing import Any, Final

import nats.aio.client

from mirror_alerts import metrics
from mirror_alerts.evaluation.engine import AlertsEngine
from mirror_alerts.evaluation.leader import Lease
from mirror_alerts.evaluation.preview import preview_rule
from mirror_alerts.operations import checked_rule
from mirror_runtime.doors import ApiError
from mirror_runtime.implementations import Implementation, implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema import alert_operations, subjects
from mirror_schema.alert_api import PreviewRuleRequest, RulePreview

__all__ = ["Previewer"]

# What a preview fills in when the rule being written has no id or name yet.
PREVIEW_ID: Final = "preview"


class Previewer:
    """Previews rules on the engine's evaluator while it leads."""

    def __init__(self, nc: nats.aio.client.Client, engine: AlertsEngine) -> None:
        self.nc = nc
        self.engine = engine

    async def preview(self, request: PreviewRuleRequest, _actor: str | None) -> RulePreview:
        """The hosts the request's rule would fire for now; its bad fields named as a rule to
        create has them."""
        body = dict(request.rule)
        body.setdefault("id", PREVIEW_ID)
        body.setdefault("name", PREVIEW_ID)
        rule = checked_rule(body)
        if not self.engine.leading:
            raise ApiError(
                "this alerts replica is not evaluating (a standby, or the leader restoring its "
                "state): ask through the twin or NATS, which reach the one that is; try again",
                code="unavailable",
            )
        return preview_rule(rule, self.engine.evaluator.hosts(), self.engine.clock())

    def implementation(self) -> Implementation[Any, Any]:
        """The operation and what carries it out, for both doors."""
        return implement(alert_operations.RULES_PREVIEW, self.preview)

    async def lead(self, lease: Lease) -> None:
        """The engine's term (mirror_alerts.evaluation.leader), with the preview's NATS
        subscription open throughout."""
        door = NatsDoor(
            self.nc,
            [self.implementation()],
            queue=subjects.ALERTS_QUEUE_GROUP,
            requests=metrics.REQUESTS,
        )
        await door.start()
        try:
            await self.engine.lead(lease)
        finally:
            await door.stop()
