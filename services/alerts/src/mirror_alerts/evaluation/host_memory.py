"""What the evaluator holds per host: its latest sample, open alerts and pending timers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from mirror_alerts.evaluation.alert_state import OpenAlert
from mirror_alerts.evaluation.rule_index import Applicable
from mirror_schema.samples import Interface, MetricSample

__all__ = ["HostMemory", "InterfaceBaseline", "Key"]

Key = tuple[str, str]  # (rule id, resource) within one host


class InterfaceBaseline(NamedTuple):
    """What interface rates of the latest sample are taken against: the sample before it,
    reduced to its counters (the rest of it need not be kept for ten thousand hosts)."""

    timestamp: datetime
    boot_id: str | None
    interfaces: list[Interface]


class HostMemory:
    """One host's state; slots because there is one per host, ten thousand of them."""

    __slots__ = (
        "applicable",
        "baseline",
        "index_version",
        "interval_seconds",
        "last_arrival_at",
        "last_sample",
        "last_sample_at",
        "open",
        "pending",
        "tags",
    )

    def __init__(self, arrival: datetime, interval: float | None, tags: Mapping[str, str]):
        self.last_arrival_at = arrival  # evaluator's clock: silence for the offline rule
        self.interval_seconds = interval
        self.tags = tags
        self.last_sample: MetricSample | None = None  # for interface rates
        # The sample before last_sample, for its interface rates in a rule's preview.
        self.baseline: InterfaceBaseline | None = None
        self.last_sample_at: datetime | None = None  # host's clock: older redeliveries skipped
        self.open: dict[Key, OpenAlert] = {}
        self.pending: dict[Key, datetime] = {}  # condition holds since, `for` not yet elapsed
        self.applicable: Applicable | None = None  # cached rules, valid for index_version
        self.index_version = -1
