"""The alert state machine: ok -> pending -> firing (-> acknowledged) -> resolved, per key.

A key is (rule, host, resource). Pure: no I/O, no clock; threshold rules are timed by the
samples' own timestamps (a replayed backlog keeps its real durations), the offline rule and
operator actions by the ``now`` passed in.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Mapping
from datetime import datetime
from typing import Final

import msgspec

from mirror_alerts.evaluation.alert_state import (
    SNAPSHOT_VERSION,
    AlertChange,
    EvaluatorSnapshot,
    HostSeen,
    OpenAlert,
    PendingTimer,
)
from mirror_alerts.evaluation.firing import (
    OFFLINE_METRIC,
    change_of,
    offline_alert,
    same_signal,
    threshold_alert,
    where_text,
)
from mirror_alerts.evaluation.host_memory import HostMemory, InterfaceBaseline, Key
from mirror_alerts.evaluation.readings import readings
from mirror_alerts.evaluation.rule_index import Applicable, CompiledThreshold, RuleIndex
from mirror_alerts.rules import Rule
from mirror_derive.intervals import own_interval, silent_intervals
from mirror_schema.hosts import host_id_from_hostname
from mirror_schema.samples import MetricSample

__all__ = ["OFFLINE_METRIC", "Evaluator", "UnknownAlertError"]

_OUT_OF_SCOPE: Final = "closed: its rule was deleted or disabled, or the host left its scope"
_RULE_CHANGED: Final = "closed: its rule now watches a different metric or direction"


class UnknownAlertError(LookupError):
    """No open alert has this id (it resolved, or never existed)."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no open alert {alert_id!r}; it may have resolved already")
        self.alert_id = alert_id


class Evaluator:
    """Evaluates rules on samples (:meth:`observe`) and silence (:meth:`sweep`).

    Exactly one open alert per (rule, host, resource). Every method returns the changes it
    made, for the service to store and publish; the state is resumable via :meth:`snapshot`
    and :meth:`restore`.
    """

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._index = RuleIndex(rules)
        self._version = 0
        self._hosts: dict[str, HostMemory] = {}
        self._alerts: dict[str, tuple[str, Key]] = {}  # alert id -> (host id, key)

    @property
    def rules(self) -> list[Rule]:
        """The current rules, enabled or not."""
        return list(self._index.rules.values())

    @property
    def open_count(self) -> int:
        """How many alerts are open (cheaper than ``len(open_alerts())``)."""
        return len(self._alerts)

    @property
    def host_count(self) -> int:
        """How many hosts the evaluator knows."""
        return len(self._hosts)

    def open_alerts(self) -> list[OpenAlert]:
        """Every open alert (firing or acknowledged), oldest first."""
        alerts = [alert for host in self._hosts.values() for alert in host.open.values()]
        return sorted(alerts, key=lambda alert: (alert.fired_at, alert.alert_id))

    def hosts(self) -> ItemsView[str, HostMemory]:
        """Every host known, with what is held of it (read only: for a rule's preview)."""
        return self._hosts.items()

    def tags_of(self, host_id: str) -> Mapping[str, str]:
        """The tags of the host's latest sample; empty for a host not seen."""
        host = self._hosts.get(host_id)
        return {} if host is None else host.tags

    def adopt(self, alerts: Iterable[OpenAlert]) -> int:
        """Take ``alerts`` (open in the store) as open here too; how many were new here.

        For after :meth:`restore`: the store is written before a sample is acknowledged, so
        an alert fired or acknowledged after the snapshot was saved is there. An alert this
        evaluator already holds takes the stored acknowledgement; one it lacks is added and
        ends any pending timer of its key, so it is never fired a second time.
        """
        added = 0
        for alert in alerts:
            key = (alert.rule_id, alert.resource)
            host = self._host_for_restore(alert.host_id, alert.fired_at)
            held = host.open.get(key)
            if held is not None and held.alert_id == alert.alert_id:
                if held.acknowledged_by is None and alert.acknowledged_by is not None:
                    host.open[key] = msgspec.structs.replace(
                        held,
                        acknowledged_by=alert.acknowledged_by,
                        acknowledged_at=alert.acknowledged_at,
                    )
                continue
            if held is not None:
                continue  # this key already has its own open alert here: keep one per key
            host.pending.pop(key, None)
            self._open(host, alert)
            added += 1
        return added

    def keep_only(self, alert_ids: set[str]) -> int:
        """Drop every open alert whose id is not in ``alert_ids``, without a change; how many.

        For a restore whose samples since the snapshot will not be replayed: the store, not
        the snapshot, then says which alerts are still open.
        """
        dropped = 0
        for host in self._hosts.values():
            for key, alert in list(host.open.items()):
                if alert.alert_id not in alert_ids:
                    del host.open[key]
                    self._alerts.pop(alert.alert_id, None)
                    dropped += 1
        return dropped

    def observe(self, sample: MetricSample, now: datetime) -> list[AlertChange]:
        """Evaluate ``sample``, received at ``now``; return the alerts it fired or resolved.

        A sample not newer than the host's last one (a redelivery) only counts as a sign of
        life: it cannot roll an alert back.
        """
        host_id = sample.host_id or host_id_from_hostname(sample.hostname)
        changes: list[AlertChange] = []
        host = self._hosts.get(host_id)
        if host is None:
            host = self._hosts[host_id] = HostMemory(now, sample.interval_seconds, sample.tags)
        elif host.open:
            self._end_offline(host_id, host, now, changes)
        host.last_arrival_at = now
        host.interval_seconds = sample.interval_seconds
        if host.last_sample_at is not None and sample.timestamp <= host.last_sample_at:
            return changes
        applicable = self._applicable(host_id, host, sample.tags, now, changes)
        previous = host.last_sample
        host.last_sample = sample
        if previous is not None and sample.interfaces:
            host.baseline = InterfaceBaseline(
                previous.timestamp, previous.boot_id, previous.interfaces
            )
        host.last_sample_at = at = sample.timestamp
        by_metric = applicable.by_metric
        if not by_metric:
            return changes
        held = host.open or host.pending
        for metric, resource, value in readings(previous, sample, applicable.wanted):
            for rule in by_metric[metric]:
                if not rule.fires(value, rule.threshold) and not (
                    held
                    and ((rule.id, resource) in host.open or (rule.id, resource) in host.pending)
                ):
                    continue  # the common case: not crossing, and nothing held for this key
                self._step(host_id, host, rule, resource, value, at, changes)
                held = host.open or host.pending
        return changes

    def sweep(self, now: datetime) -> list[AlertChange]:
        """Fire the offline rule for every host silent too long as of ``now`` (call on a timer)."""
        changes: list[AlertChange] = []
        for host_id, host in self._hosts.items():
            applicable = self._applicable(host_id, host, host.tags, now, changes)
            if not applicable.offline:
                continue
            silence = (now - host.last_arrival_at).total_seconds()
            intervals = silent_intervals(host.last_arrival_at, host.interval_seconds, now)
            for rule in applicable.offline:
                limit = rule.after_intervals * own_interval(host.interval_seconds)
                if intervals > rule.after_intervals and (rule.id, "") not in host.open:
                    alert, message = offline_alert(
                        rule, host_id, host.last_arrival_at, silence, limit, now
                    )
                    self._open(host, alert)
                    changes.append(change_of("fired", alert, now, message, value=silence))
        return changes

    def acknowledge(self, alert_id: str, by: str, now: datetime) -> AlertChange | None:
        """Mark an open alert acknowledged by ``by``; None if it already was.

        It stays open until it resolves. Raises :class:`UnknownAlertError` for an id not open.
        """
        where = self._alerts.get(alert_id)
        if where is None:
            raise UnknownAlertError(alert_id)
        host_id, key = where
        host = self._hosts[host_id]
        alert = host.open[key]
        if alert.acknowledged_by is not None:
            return None
        host.open[key] = msgspec.structs.replace(alert, acknowledged_by=by, acknowledged_at=now)
        return change_of("acknowledged", alert, now, f"acknowledged by {by}", by=by)

    def set_rules(self, rules: Iterable[Rule], now: datetime) -> list[AlertChange]:
        """Replace the rules; return the alerts this closed.

        Invalid rules raise before anything changes. A deleted or disabled rule, or a host
        that left a rule's scope, closes its alerts (resolved). A rule that now watches another
        metric or direction closes its alerts and starts over. Any other change (threshold,
        clear, ``for``, severity, name) keeps open alerts and pending timers with their start;
        the next reading is judged by the new values.
        """
        index = RuleIndex(rules)
        changes: list[AlertChange] = []
        for rule_id, old in self._index.rules.items():
            new = index.rules.get(rule_id)
            if new is not None and not same_signal(old, new):
                self._close_rule(rule_id, now, _RULE_CHANGED, changes)
        self._index = index
        self._version += 1
        for host_id, host in self._hosts.items():
            if host.open or host.pending:
                self._applicable(host_id, host, host.tags, now, changes)
        return changes

    def snapshot(self) -> EvaluatorSnapshot:
        """Return the state to persist: open alerts, pending timers, and each host's last times."""
        pending = [
            PendingTimer(rule_id=rule_id, host_id=host_id, resource=resource, started_at=start)
            for host_id, host in self._hosts.items()
            for (rule_id, resource), start in host.pending.items()
        ]
        hosts = [
            HostSeen(
                host_id=host_id,
                last_sample_at=host.last_sample_at,
                last_arrival_at=host.last_arrival_at,
                interval_seconds=host.interval_seconds,
                tags=dict(host.tags),
            )
            for host_id, host in self._hosts.items()
        ]
        return EvaluatorSnapshot(open_alerts=self.open_alerts(), pending=pending, hosts=hosts)

    def restore(self, snapshot: EvaluatorSnapshot, now: datetime) -> list[AlertChange]:
        """Replace the state with ``snapshot``; return the alerts of rules gone meanwhile, closed.

        Open alerts stay open (never fired again), pending timers keep their ``started_at``.
        A host missing from ``snapshot.hosts`` (a hand-edited or partial snapshot) is taken
        to have no tags until its next sample.
        """
        if snapshot.version != SNAPSHOT_VERSION:
            raise ValueError(
                f"snapshot version {snapshot.version} is not {SNAPSHOT_VERSION}; "
                "it was written by another release of the alerts service"
            )
        self._hosts = {}
        self._alerts = {}
        for seen in snapshot.hosts:
            host = HostMemory(seen.last_arrival_at, seen.interval_seconds, seen.tags)
            host.last_sample_at = seen.last_sample_at
            self._hosts[seen.host_id] = host
        for alert in snapshot.open_alerts:
            host = self._host_for_restore(alert.host_id, alert.fired_at)
            host.open[(alert.rule_id, alert.resource)] = alert
            self._alerts[alert.alert_id] = (alert.host_id, (alert.rule_id, alert.resource))
        for timer in snapshot.pending:
            host = self._host_for_restore(timer.host_id, timer.started_at)
            host.pending[(timer.rule_id, timer.resource)] = timer.started_at
        changes: list[AlertChange] = []
        for host_id, host in self._hosts.items():
            self._applicable(host_id, host, host.tags, now, changes)
        return changes

    def _host_for_restore(self, host_id: str, seen_at: datetime) -> HostMemory:
        host = self._hosts.get(host_id)
        if host is None:
            host = self._hosts[host_id] = HostMemory(seen_at, None, {})
        return host

    def _applicable(
        self,
        host_id: str,
        host: HostMemory,
        tags: Mapping[str, str],
        now: datetime,
        changes: list[AlertChange],
    ) -> Applicable:
        """The host's rules, cached until the rules or its tags change; closes what left scope."""
        cached = host.applicable
        if cached is not None and host.index_version == self._version and host.tags == tags:
            return cached
        applicable = self._index.applicable(host_id, tags)
        host.applicable, host.index_version, host.tags = applicable, self._version, tags
        ids = applicable.rule_ids
        for key in [key for key in host.pending if key[0] not in ids]:
            del host.pending[key]
        for key, alert in [(k, a) for k, a in host.open.items() if k[0] not in ids]:
            self._resolve(host, key, alert, now, None, _OUT_OF_SCOPE, changes)
        return applicable

    def _step(
        self,
        host_id: str,
        host: HostMemory,
        rule: CompiledThreshold,
        resource: str,
        value: float,
        at: datetime,
        changes: list[AlertChange],
    ) -> None:
        key = (rule.id, resource)
        alert = host.open.get(key)
        if alert is not None:
            # Hysteresis: only crossing the clear threshold resolves; inside the band it stays.
            if rule.clears(value, rule.clear):
                where = where_text(rule.metric, resource, host_id)
                message = f"{rule.rule.name}: {where} is back to {value:g}"
                self._resolve(host, key, alert, at, value, message, changes)
            return
        if not rule.fires(value, rule.threshold):
            host.pending.pop(key, None)  # a spike shorter than `for` never fires
            return
        started = host.pending.get(key)
        if started is None:
            started = at
            if rule.for_seconds > 0:
                host.pending[key] = at
                return
        elif (at - started).total_seconds() < rule.for_seconds:
            return
        else:
            del host.pending[key]
        alert, message = threshold_alert(rule, host_id, resource, value, started, at)
        self._open(host, alert)
        changes.append(change_of("fired", alert, at, message, value=value))

    def _end_offline(
        self, host_id: str, host: HostMemory, now: datetime, changes: list[AlertChange]
    ) -> None:
        silence = (now - host.last_arrival_at).total_seconds()
        for key, alert in list(host.open.items()):
            if alert.metric == OFFLINE_METRIC:
                message = f"{host_id} is back after {silence:.0f} s of silence"
                self._resolve(host, key, alert, now, silence, message, changes)

    def _open(self, host: HostMemory, alert: OpenAlert) -> None:
        host.open[(alert.rule_id, alert.resource)] = alert
        self._alerts[alert.alert_id] = (alert.host_id, (alert.rule_id, alert.resource))

    def _resolve(
        self,
        host: HostMemory,
        key: Key,
        alert: OpenAlert,
        at: datetime,
        value: float | None,
        message: str,
        changes: list[AlertChange],
    ) -> None:
        del host.open[key]
        self._alerts.pop(alert.alert_id, None)
        duration = max((at - alert.fired_at).total_seconds(), 0.0)
        changes.append(change_of("resolved", alert, at, message, value=value, duration=duration))

    def _close_rule(
        self, rule_id: str, now: datetime, message: str, changes: list[AlertChange]
    ) -> None:
        for host in self._hosts.values():
            for key in [key for key in host.pending if key[0] == rule_id]:
                del host.pending[key]
            for key, alert in [(k, a) for k, a in host.open.items() if k[0] == rule_id]:
                self._resolve(host, key, alert, now, None, message, changes)
