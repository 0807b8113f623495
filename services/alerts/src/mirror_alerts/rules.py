"""Alert rules: their validation against the metric catalogue (the models themselves are
contracts: mirror_schema.alert_rules)."""

from __future__ import annotations

import math
import re
from typing import Final

import msgspec

from mirror_alerts.catalogue import METRICS, known_metrics
from mirror_schema.alert_rules import (
    OfflineRule,
    Operator,
    Rule,
    RuleId,
    Scope,
    ThresholdRule,
)

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

UPPER_OPERATORS: Final = frozenset({">", ">="})


class RuleError(ValueError):
    """A rule is invalid; ``field`` names the field (dotted path) and ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


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
