"""The enabled rules indexed by scope and metric, so a sample only meets the rules that apply."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from mirror_alerts.rules import (
    OfflineRule,
    Operator,
    Rule,
    ThresholdRule,
    check_rule,
    clear_threshold_of,
)

__all__ = ["Applicable", "CompiledThreshold", "RuleIndex"]

Compare = Callable[[float, float], bool]

_FIRES: Final[dict[Operator, Compare]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# Clearing is the negation of the operator against the clear threshold, so with no separate
# clear threshold "clear" is exactly "the condition no longer holds": no gap, no overlap.
_CLEARS: Final[dict[Operator, Compare]] = {
    ">": operator.le,
    ">=": operator.lt,
    "<": operator.ge,
    "<=": operator.gt,
}


class CompiledThreshold:
    """A threshold rule with its comparisons resolved once, for the per-sample loop."""

    __slots__ = ("clear", "clears", "fires", "for_seconds", "id", "metric", "rule", "threshold")

    def __init__(self, rule: ThresholdRule) -> None:
        self.rule = rule
        self.id = rule.id
        self.metric = rule.metric
        self.fires = _FIRES[rule.operator]
        self.threshold = rule.threshold
        self.clears = _CLEARS[rule.operator]
        self.clear = clear_threshold_of(rule)
        self.for_seconds = rule.for_seconds


class Applicable:
    """The rules that apply to one host, threshold rules grouped by metric."""

    __slots__ = ("by_metric", "offline", "rule_ids", "wanted")

    def __init__(self, thresholds: Iterable[CompiledThreshold], offline: Iterable[OfflineRule]):
        grouped: dict[str, list[CompiledThreshold]] = {}
        for compiled in thresholds:
            grouped.setdefault(compiled.metric, []).append(compiled)
        self.by_metric: dict[str, tuple[CompiledThreshold, ...]] = {
            metric: tuple(rules) for metric, rules in grouped.items()
        }
        self.offline: tuple[OfflineRule, ...] = tuple(offline)
        self.wanted: frozenset[str] = frozenset(self.by_metric)
        self.rule_ids: frozenset[str] = frozenset(
            [c.id for rules in self.by_metric.values() for c in rules]
            + [rule.id for rule in self.offline]
        )


class RuleIndex:
    """Enabled rules by scope: those for every host are merged once and shared by all hosts.

    Rules scoped by host id are found by a dict lookup; only tag-scoped rules are matched
    one by one, and the evaluator caches each host's answer until its tags or the rules change.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: dict[str, Rule] = {}
        self._compiled: dict[str, CompiledThreshold] = {}
        self._by_host: dict[str, list[Rule]] = {}
        self._by_tags: list[Rule] = []
        everyone: list[Rule] = []
        for rule in rules:
            check_rule(rule)
            if rule.id in self.rules:
                raise ValueError(f"rule id {rule.id!r} is used twice; rule ids must be unique")
            self.rules[rule.id] = rule
            if not rule.enabled:
                continue
            if isinstance(rule, ThresholdRule):
                self._compiled[rule.id] = CompiledThreshold(rule)
            if rule.scope.is_everything:
                everyone.append(rule)
            elif rule.scope.host_ids:
                for host_id in rule.scope.host_ids:
                    self._by_host.setdefault(host_id, []).append(rule)
            else:
                self._by_tags.append(rule)
        self._everyone_rules = everyone
        self._everyone = self._build(everyone)

    def applicable(self, host_id: str, tags: Mapping[str, str]) -> Applicable:
        """Return the enabled rules whose scope covers ``host_id`` with ``tags``."""
        extra = [
            rule for rule in self._by_host.get(host_id, ()) if rule.scope.matches(host_id, tags)
        ]
        extra.extend(rule for rule in self._by_tags if rule.scope.matches(host_id, tags))
        if not extra:
            return self._everyone  # shared: most hosts allocate nothing
        return self._build([*self._everyone_rules, *extra])

    def _build(self, rules: list[Rule]) -> Applicable:
        return Applicable(
            (self._compiled[rule.id] for rule in rules if isinstance(rule, ThresholdRule)),
            (rule for rule in rules if isinstance(rule, OfflineRule)),
        )
