"""Alert rules and silence matchers as they cross the alerts service's doors: the threshold
and host-offline rule models with their scope, and which alerts a silence covers.

Types and ranges are checked by decoding; what a type cannot check (the metric exists, its
range, the clearing side of a threshold) the alerts service checks (mirror_alerts.rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from mirror_schema.alerts import AlertSeverity
from mirror_schema.hosts import HostId

__all__ = [
    "OfflineRule",
    "Operator",
    "Rule",
    "RuleId",
    "RuleName",
    "Scope",
    "SilenceMatchers",
    "ThresholdRule",
]

Operator = Literal[">", ">=", "<", "<="]
# The id goes into URLs (PUT /api/alerts/rules/{id}) and alert ids: keep it path-safe.
RuleId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}(?!\n)$")]
RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Scope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which hosts a rule watches: empty means every host.

    A host is in scope when (``host_ids`` is empty or lists it) and every ``tags`` entry
    equals the host's tag of that key (exact match).
    """

    host_ids: list[HostId] = []
    tags: dict[str, str] = {}

    def matches(self, host_id: str, tags: Mapping[str, str]) -> bool:
        """Return whether the host ``host_id`` with ``tags`` is in this scope."""
        if self.host_ids and host_id not in self.host_ids:
            return False
        return all(tags.get(key) == value for key, value in self.tags.items())

    @property
    def is_everything(self) -> bool:
        """Whether the scope is empty, i.e. covers every host."""
        return not self.host_ids and not self.tags


class ThresholdRule(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    tag="threshold",
):
    """Fire when ``metric <operator> threshold`` has held for ``for_seconds``.

    Clears (hysteresis) when the value crosses back past ``clear_threshold``: for ``>``/``>=``
    once it is at or below it (``>``) or below it (``>=``), mirrored for ``<``/``<=``; None
    means the threshold itself, i.e. clear as soon as the condition is false.
    """

    id: RuleId
    name: RuleName
    metric: str
    operator: Operator
    threshold: float
    for_seconds: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    clear_threshold: float | None = None
    severity: AlertSeverity = "warning"
    scope: Scope = Scope()
    enabled: bool = True


class OfflineRule(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    tag="offline",
):
    """Fire when a host has sent no sample for ``after_intervals`` of its own intervals.

    The interval is the host's ``interval_seconds``, or 5 s for agents that do not report one
    (the original agent's period, as in the twin's status policy).
    """

    id: RuleId
    name: RuleName
    after_intervals: Annotated[float, msgspec.Meta(gt=0)] = 12.0
    severity: AlertSeverity = "critical"
    scope: Scope = Scope()
    enabled: bool = True


Rule = ThresholdRule | OfflineRule


class SilenceMatchers(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which alerts a silence covers: each non-empty field must match (a list: any entry).

    ``tags`` match when every entry equals the host's tag of that key.
    """

    host_ids: list[HostId] = []
    tags: dict[str, str] = {}
    rule_ids: list[RuleId] = []
    severities: list[AlertSeverity] = []

    @property
    def is_empty(self) -> bool:
        """Whether no field is set (such a silence would cover every alert)."""
        return not (self.host_ids or self.tags or self.rule_ids or self.severities)
