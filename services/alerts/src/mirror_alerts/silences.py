"""Silences: which alerts they cover and when; pure, for the notifier's hot path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

import msgspec

from mirror_schema.alert_rules import SilenceMatchers

__all__ = ["Silence", "SilenceError", "SilenceMatchers", "Silenceable", "is_silenced"]


class Silenceable(Protocol):
    """What a silence matches an alert on: an AlertEvent or a stored alert both have these."""

    @property
    def host_id(self) -> str: ...

    @property
    def rule_id(self) -> str: ...

    @property
    def severity(self) -> str: ...


class SilenceError(ValueError):
    """A silence is invalid; ``field`` names the field and ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Silence(msgspec.Struct, frozen=True, kw_only=True):
    """Notifications of matching alerts are held back from ``starts_at`` until ``ends_at``."""

    id: str
    matchers: SilenceMatchers
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""


def _matches(matchers: SilenceMatchers, alert: Silenceable, tags: Mapping[str, str]) -> bool:
    if matchers.host_ids and alert.host_id not in matchers.host_ids:
        return False
    if matchers.rule_ids and alert.rule_id not in matchers.rule_ids:
        return False
    if matchers.severities and alert.severity not in matchers.severities:
        return False
    return all(tags.get(key) == value for key, value in matchers.tags.items())


def is_silenced(
    silences: Iterable[Silence],
    alert: Silenceable,
    tags: Mapping[str, str],
    *,
    now: datetime,
) -> bool:
    """Whether a silence active at ``now`` covers ``alert`` of a host with ``tags``.

    ``now`` is checked too, so a cached list of silences stops holding one back at its end.
    """
    return any(
        s.starts_at <= now < s.ends_at and _matches(s.matchers, alert, tags) for s in silences
    )
