"""Rule validation: bad rules fail with errors that name the field and the problem."""

import json

import pytest

from mirror_alerts.defaults import default_rules
from mirror_alerts.rules import (
    OfflineRule,
    RuleError,
    ThresholdRule,
    check_rule,
    decode_rule,
    rule_from_object,
)


def _rule(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "threshold",
        "id": "cpu-high",
        "name": "CPU high",
        "metric": "cpu_load",
        "operator": ">",
        "threshold": 90,
        "clear_threshold": 80,
        "for_seconds": 30,
    }
    base.update(fields)
    return base


def test_a_valid_rule_decodes_from_json() -> None:
    """The API's JSON body becomes a ThresholdRule with its defaults filled in."""
    rule = decode_rule(json.dumps(_rule()))
    assert isinstance(rule, ThresholdRule)
    assert (rule.threshold, rule.clear_threshold, rule.severity, rule.enabled) == (
        90.0,
        80.0,
        "warning",
        True,
    )


def test_an_unknown_metric_names_it_and_lists_the_known_ones() -> None:
    """A typo in the metric is reported with the value and the catalogue."""
    with pytest.raises(RuleError) as caught:
        decode_rule(json.dumps(_rule(metric="cpu_lod")))
    assert caught.value.field == "metric"
    assert str(caught.value).startswith("metric: unknown metric 'cpu_lod'; known: cpu_load, ")
    assert "interface.utilization" in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"operator": "=="}, "operator", "Invalid enum value '=='"),
        ({"for_seconds": -1}, "for_seconds", ">= 0"),
        ({"clear_threshold": 95}, "clear_threshold", "must be <= threshold"),
        ({"operator": "<", "threshold": 10, "clear_threshold": 5}, "clear_threshold", ">="),
        ({"threshold": 150}, "threshold", "outside cpu_load's range 0..100"),
        ({"severity": "fatal"}, "severity", "Invalid enum value 'fatal'"),
        ({"id": "Has Spaces"}, "id", "matching regex"),
        ({"scope": {"host_ids": ["Bad Host"]}}, "scope.host_ids[0]", "matching regex"),
        ({"colour": "red"}, "$", "unknown field `colour`"),
    ],
)
def test_bad_rules_name_the_field(fields: dict[str, object], field: str, fragment: str) -> None:
    """Every kind of mistake comes back as `field: problem`, ready for a 422."""
    with pytest.raises(RuleError) as caught:
        rule_from_object(_rule(**fields))
    assert caught.value.field == field
    assert fragment in caught.value.problem


def test_a_missing_kind_is_reported() -> None:
    """The rule kind is explicit, so the error says it is missing."""
    body = _rule()
    del body["kind"]
    with pytest.raises(RuleError, match="kind"):
        rule_from_object(body)


def test_check_rule_catches_hand_built_rules() -> None:
    """A Struct built by hand is not validated by msgspec; check_rule still catches NaN."""
    with pytest.raises(RuleError, match="threshold: must be a finite number"):
        check_rule(
            ThresholdRule(id="x", name="x", metric="cpu_load", operator=">", threshold=float("nan"))
        )


def test_an_offline_rule_decodes() -> None:
    """The offline kind has its own fields and defaults."""
    rule = decode_rule(b'{"kind": "offline", "id": "down", "name": "Down", "after_intervals": 6}')
    assert rule == OfflineRule(id="down", name="Down", after_intervals=6.0)


def test_default_rules_are_valid_and_carry_the_original_thresholds() -> None:
    """The defaults pass validation; CPU 80/70, memory 90/80, temperatures 80/70, links 90/70."""
    rules = {rule.id: rule for rule in default_rules()}
    for rule in rules.values():
        check_rule(rule)
    cpu = rules["default-cpu-high"]
    assert isinstance(cpu, ThresholdRule)
    assert (cpu.threshold, cpu.clear_threshold) == (80.0, 70.0)
    link = rules["default-link-congested"]
    assert isinstance(link, ThresholdRule)
    assert (link.metric, link.threshold, link.clear_threshold) == (
        "interface.utilization",
        90.0,
        70.0,
    )
    assert isinstance(rules["default-host-offline"], OfflineRule)
