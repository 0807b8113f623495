"""A rule's preview: which hosts it would fire for now, judged on the evaluator's latest figure
of each host, as the evaluator judges a sample (readings.py, rule_index.py). Pure: nothing is
saved, nothing of the evaluator changes.

A threshold rule matches a (host, resource) whose latest reading meets its condition
(``for_seconds`` is not waited for: a preview is about now); an offline rule, a host silent
longer than it allows. A disabled rule is judged as if enabled: the editor shows what enabling
it would do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

import msgspec

from mirror_alerts.evaluation.host_memory import HostMemory
from mirror_alerts.evaluation.readings import readings
from mirror_alerts.evaluation.rule_index import CompiledThreshold
from mirror_alerts.rules import OfflineRule, Rule, ThresholdRule
from mirror_derive.intervals import silent_intervals
from mirror_schema.alert_api import MAX_PREVIEW_MATCHES, PreviewMatch, RulePreview
from mirror_schema.samples import MetricSample

__all__ = ["preview_rule"]

INTERFACE_METRIC: Final = "interface.utilization"


def _previous(host: HostMemory, latest: MetricSample, metric: str) -> MetricSample | None:
    """The sample interface rates are taken against: the latest with the counters before it
    (only interface utilization needs one)."""
    if metric != INTERFACE_METRIC or host.baseline is None:
        return None
    timestamp, boot_id, interfaces = host.baseline
    return msgspec.structs.replace(
        latest, timestamp=timestamp, boot_id=boot_id, interfaces=interfaces
    )


def _threshold_matches(
    rule: ThresholdRule, host_id: str, host: HostMemory
) -> list[PreviewMatch] | None:
    """The host's resources meeting the condition; None when it has no reading of the metric."""
    latest = host.last_sample
    if latest is None:
        return None
    compiled = CompiledThreshold(rule)
    found = readings(_previous(host, latest, rule.metric), latest, {rule.metric})
    if not found:
        return None
    return [
        PreviewMatch(host_id=host_id, resource=reading.resource, value=reading.value)
        for reading in found
        if compiled.fires(reading.value, compiled.threshold)
    ]


def _offline_match(
    rule: OfflineRule, host_id: str, host: HostMemory, now: datetime
) -> list[PreviewMatch]:
    if silent_intervals(host.last_arrival_at, host.interval_seconds, now) <= rule.after_intervals:
        return []
    silence = (now - host.last_arrival_at).total_seconds()
    return [PreviewMatch(host_id=host_id, resource="", value=silence)]


def preview_rule(
    rule: Rule,
    hosts: Iterable[tuple[str, HostMemory]],
    now: datetime,
    limit: int = MAX_PREVIEW_MATCHES,
) -> RulePreview:
    """Which of `hosts` the (checked) `rule` would fire for as of `now`; at most `limit`
    matches listed, by host and resource, the counts covering all."""
    matches: list[PreviewMatch] = []
    known = in_scope = without_reading = 0
    matching_hosts = 0
    for host_id, host in hosts:
        known += 1
        if not rule.scope.matches(host_id, host.tags):
            continue
        in_scope += 1
        found: list[PreviewMatch] | None
        if isinstance(rule, OfflineRule):
            found = _offline_match(rule, host_id, host, now)
        else:
            found = _threshold_matches(rule, host_id, host)
        if found is None:
            without_reading += 1
            continue
        if found:
            matching_hosts += 1
            matches.extend(found)
    matches.sort(key=lambda match: (match.host_id, match.resource))
    return RulePreview(
        matches=matches[:limit],
        hosts_matching=matching_hosts,
        hosts_in_scope=in_scope,
        hosts_known=known,
        hosts_without_reading=without_reading,
        truncated=len(matches) > limit,
        evaluated_at=now,
    )
