"""Alert rules: the threshold and host-offline models, their scope, and their validation."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Final, Literal

import msgspec

from mirror_alerts.catalogue import METRICS, known_metrics
from mirror_schema.alerts import AlertSeverity
from mirror_schema.hosts import HostId

__all__ = [
    "OfflineRule",
    "Operator",
    "Rule",
    "RuleError",
    "RuleId",
    "Scope",
    "ThresholdRule",
    "check_rule",
    "clear_threshold_of",
    "decode_rule",
    "rule_from_object",
]

Operator = Literal[">", ">=", "<", "<="]
# The id goes into URLs (PUT /api/alerts/rules/{id}) and alert ids: keep it path-safe.
RuleId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}(?!\n)$")]
RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
UPPER_OPERATORS: Final = frozenset({">", ">="})


class RuleError(ValueError):
    """A rule is invalid; ``field`` names the field (dotted path) and ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


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

_rule_decoder: Final = msgspec.json.Decoder(Rule)
# msgspec ends its messages with " - at `$.field[0].sub`"; the path becomes RuleError.field.
_AT_PATH: Final = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def clear_threshold_of(rule: ThresholdRule) -> float:
    """Return the value the rule clears at: ``clear_threshold``, else ``threshold``."""
    return rule.threshold if rule.clear_threshold is None else rule.clear_threshold


def check_rule(rule: Rule) -> Rule:
    """Return ``rule`` unchanged when it is semantically valid, else raise :class:`RuleError`.

    Types and ranges are checked by decoding (:func:`decode_rule`); this checks what a type
    cannot: the metric exists, numbers are finite and within the metric's range, and the
    clear threshold is on the clearing side of the threshold.
    """
    if isinstance(rule, OfflineRule):
        if not (math.isfinite(rule.after_intervals) and rule.after_intervals > 0):
            raise RuleError(
                "after_intervals", f"must be a finite number > 0, got {rule.after_intervals!r}"
            )
        return rule
    info = METRICS.get(rule.metric)
    if info is None:
        raise RuleError("metric", f"unknown metric {rule.metric!r}; known: {known_metrics()}")
    _check_number("threshold", rule.threshold, info.minimum, info.maximum, rule.metric)
    if not (math.isfinite(rule.for_seconds) and rule.for_seconds >= 0):
        raise RuleError("for_seconds", f"must be a finite number >= 0, got {rule.for_seconds!r}")
    if rule.clear_threshold is not None:
        clear = rule.clear_threshold
        _check_number("clear_threshold", clear, info.minimum, info.maximum, rule.metric)
        if rule.operator in UPPER_OPERATORS and clear > rule.threshold:
            raise RuleError(
                "clear_threshold",
                f"{clear!r} is above threshold {rule.threshold!r}; with operator "
                f"{rule.operator!r} the alert clears when the value falls back, so "
                "clear_threshold must be <= threshold",
            )
        if rule.operator not in UPPER_OPERATORS and clear < rule.threshold:
            raise RuleError(
                "clear_threshold",
                f"{clear!r} is below threshold {rule.threshold!r}; with operator "
                f"{rule.operator!r} the alert clears when the value rises back, so "
                "clear_threshold must be >= threshold",
            )
    return rule


def _check_number(
    field: str, value: float, minimum: float | None, maximum: float | None, metric: str
) -> None:
    if not math.isfinite(value):
        raise RuleError(field, f"must be a finite number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf" if maximum is None else f"{maximum:g}"
        raise RuleError(
            field, f"{value!r} is outside {metric}'s range {low}..{high} ({METRICS[metric].unit})"
        )


def _from_validation_error(exc: msgspec.ValidationError) -> RuleError:
    match = _AT_PATH.match(str(exc))
    problem = str(exc) if match is None else match.group("problem")
    path = "" if match is None or match.group("path") is None else match.group("path")
    return RuleError(path.lstrip(".") or "$", problem)


def decode_rule(data: bytes | str) -> Rule:
    """Decode and check one rule from JSON; raise :class:`RuleError` naming the bad field.

    The JSON object carries ``"kind": "threshold"`` or ``"kind": "offline"``.
    """
    try:
        rule = _rule_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _from_validation_error(exc) from exc
    except msgspec.DecodeError as exc:
        raise RuleError("$", f"not valid JSON: {exc}") from exc
    return check_rule(rule)


def rule_from_object(data: object) -> Rule:
    """Convert and check one rule from builtins (a parsed JSON object, a database row)."""
    try:
        rule = msgspec.convert(data, Rule)
    except msgspec.ValidationError as exc:
        raise _from_validation_error(exc) from exc
    return check_rule(rule)
