"""AlertsApi: every operation of the alerts service, behind both its HTTP and NATS doors.

Any replica answers these, leading or not: they read and write PostgreSQL, and what the
evaluating replica must know (an ack, a rule or silence changed) reaches it by LISTEN/NOTIFY.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import asyncpg
import nats.errors
import nats.js.errors
import structlog

from mirror_alerts.errors import ConflictError, InvalidRequestError, NotFoundError
from mirror_alerts.evaluation.alert_state import AlertChange
from mirror_alerts.evaluation.recorder import Recorder
from mirror_alerts.notify.receivers import Receiver
from mirror_alerts.publisher import EventPublisher
from mirror_alerts.rules import Rule, RuleError, rule_from_object
from mirror_alerts.silences import Silence, SilenceError
from mirror_alerts.stores import alert_store, delivery_store, rule_store, silence_store
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    AlertRecord,
    CreateSilenceRequest,
    DeliveryRecord,
    ListAlertsRequest,
    ReceiverRecord,
    RuleRecord,
    SilenceRecord,
    WriteRuleRequest,
)

__all__ = ["DEFAULT_ACTOR", "AlertsApi", "checked_rule"]

log = structlog.get_logger()

# Who did it, when a request does not say (until requests carry an identity).
DEFAULT_ACTOR: Final = "api"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def rule_record(stored: rule_store.StoredRule) -> RuleRecord:
    """The wire form of a stored rule."""
    return RuleRecord(
        rule=stored.rule,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        created_by=stored.created_by,
        updated_by=stored.updated_by,
    )


def silence_record(silence: Silence) -> SilenceRecord:
    """The wire form of a silence."""
    return SilenceRecord(
        id=silence.id,
        matchers=silence.matchers,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
    )


def destination(url: str) -> str:
    """A receiver URL's scheme and host (and port): the rest, and any user or password in it,
    may be a secret (a Slack webhook's path is one)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}"


def receiver_record(receiver: Receiver, last: DeliveryRecord | None) -> ReceiverRecord:
    """The wire form of a receiver, without its secrets."""
    return ReceiverRecord(
        name=receiver.name,
        format=receiver.format,
        destination=destination(receiver.url),
        severities=sorted(receiver.match.severities),
        tags=dict(receiver.match.tags),
        send_resolved=receiver.send_resolved,
        last_delivery=last,
    )


def _invalid_rule(exc: RuleError, prefix: str = "rule") -> InvalidRequestError:
    field = prefix if exc.field == "$" else f"{prefix}.{exc.field}"
    return InvalidRequestError(f"{field}: {exc.problem}")


def checked_rule(body: dict[str, Any]) -> Rule:
    """The rule of a request's body, or InvalidRequestError naming ``rule.<field>``."""
    try:
        return rule_from_object(body)
    except RuleError as exc:
        raise _invalid_rule(exc) from None


class AlertsApi:
    """Alerts, acks, rules and silences, stored in PostgreSQL."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        *,
        clock: Callable[[], datetime] = _utc_now,
        receivers: Sequence[Receiver] = (),
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.clock = clock
        self.receivers = list(receivers)
        self.recorder = Recorder(publisher.js, pool)

    # Alerts

    async def _stored(self) -> None:
        """Store what the stream holds past the store (the leader does too, a moment later):
        a read then shows every alert event published before it. With the bus away, the
        store is read as it is."""
        try:
            await self.recorder.catch_up()
        except (nats.errors.Error, nats.js.errors.Error) as exc:
            log.warning("alerts.read_unrecorded", error=str(exc))

    async def active(self, request: ActiveAlertsRequest) -> list[AlertRecord]:
        """Open alerts (firing or acknowledged), newest first."""
        await self._stored()
        async with self.pool.acquire() as conn:
            return await alert_store.list_active(conn, request.host)

    async def history(self, request: ListAlertsRequest) -> list[AlertRecord]:
        """Alerts fired since ``request.since``, newest first, whatever their state now."""
        await self._stored()
        async with self.pool.acquire() as conn:
            return await alert_store.list_history(
                conn,
                host_id=request.host,
                state=request.status,
                since=request.since,
                limit=request.limit,
            )

    async def get(self, alert_id: str) -> AlertRecord:
        """One alert with its events."""
        await self._stored()
        async with self.pool.acquire() as conn:
            record = await alert_store.get_alert(conn, alert_id)
        if record is None:
            raise NotFoundError(
                f"id: no alert {alert_id!r}; GET /api/alerts lists the alerts there are"
            )
        return record

    async def acknowledge(self, request: AckAlertRequest) -> AlertRecord:
        """Mark a firing alert acknowledged; an acknowledged one is returned unchanged.

        The change is stored, told to the evaluating replica (``alert_acks``) and published.
        """
        by = request.by or DEFAULT_ACTOR
        record = await self.get(request.id)
        if record.state == "resolved":
            raise ConflictError(
                f"id: alert {request.id!r} resolved at {record.resolved_at}; "
                "only an open alert can be acknowledged"
            )
        if record.state == "acknowledged":
            return record
        change = AlertChange(
            kind="acknowledged",
            alert_id=record.alert_id,
            rule_id=record.rule_id,
            host_id=record.host_id,
            resource=record.resource,
            metric=record.metric,
            severity=record.severity,
            at=self.clock(),
            message=f"acknowledged by {by}",
            value=record.value,
            threshold=record.threshold,
            acknowledged_by=by,
        )
        async with self.pool.acquire() as conn:
            stored = await alert_store.acknowledge(conn, change)
        if not stored:
            return await self._acknowledged_meanwhile(request.id)
        await self.publisher.publish([change])
        log.info("alert.acknowledged", alert_id=record.alert_id, by=by)
        return await self.get(request.id)

    async def _acknowledged_meanwhile(self, alert_id: str) -> AlertRecord:
        record = await self.get(alert_id)
        if record.state == "resolved":
            raise ConflictError(f"id: alert {alert_id!r} resolved while it was being acknowledged")
        return record

    # Rules

    async def rules(self) -> list[RuleRecord]:
        """Every rule, enabled or not, by id."""
        async with self.pool.acquire() as conn:
            return [rule_record(r) for r in await rule_store.list_rules(conn)]

    async def rule(self, rule_id: str) -> RuleRecord:
        """One rule."""
        async with self.pool.acquire() as conn:
            stored = await rule_store.get_rule(conn, rule_id)
        if stored is None:
            raise self._no_rule(rule_id)
        return rule_record(stored)

    async def create_rule(self, request: WriteRuleRequest) -> RuleRecord:
        """Store a new rule; every replica's evaluator picks it up."""
        rule = self._rule(request.rule)
        try:
            async with self.pool.acquire() as conn:
                stored = await rule_store.create_rule(
                    conn, rule, by=request.by or DEFAULT_ACTOR, now=self.clock()
                )
        except rule_store.DuplicateRuleError as exc:
            raise ConflictError(f"rule.id: {exc.problem}") from None
        log.info("rule.created", rule_id=rule.id)
        return rule_record(stored)

    async def replace_rule(self, rule_id: str, request: WriteRuleRequest) -> RuleRecord:
        """Replace the rule ``rule_id`` (the body's ``id`` may be left out, or must match)."""
        body = dict(request.rule)
        body.setdefault("id", rule_id)
        rule = self._rule(body)
        try:
            async with self.pool.acquire() as conn:
                stored = await rule_store.replace_rule(
                    conn, rule_id, rule, by=request.by or DEFAULT_ACTOR, now=self.clock()
                )
        except RuleError as exc:
            raise _invalid_rule(exc) from None
        if stored is None:
            raise self._no_rule(rule_id)
        log.info("rule.replaced", rule_id=rule_id)
        return rule_record(stored)

    async def delete_rule(self, rule_id: str) -> None:
        """Delete a rule; its open alerts resolve. A deleted default rule stays deleted."""
        async with self.pool.acquire() as conn:
            deleted = await rule_store.delete_rule(conn, rule_id)
        if not deleted:
            raise self._no_rule(rule_id)
        log.info("rule.deleted", rule_id=rule_id)

    @staticmethod
    def _rule(body: dict[str, Any]) -> Rule:
        return checked_rule(body)

    @staticmethod
    def _no_rule(rule_id: str) -> NotFoundError:
        return NotFoundError(f"id: no rule {rule_id!r}; GET /api/alerts/rules lists them")

    # Receivers

    async def receivers_list(self) -> list[ReceiverRecord]:
        """The configured receivers, each with its latest delivery (by any leader)."""
        async with self.pool.acquire() as conn:
            last = await delivery_store.last_deliveries(conn)
        return [receiver_record(r, last.get(r.name)) for r in self.receivers]

    # Silences

    async def silences(self) -> list[SilenceRecord]:
        """Silences in force or to come."""
        async with self.pool.acquire() as conn:
            found = await silence_store.list_silences(conn, self.clock())
        return [silence_record(s) for s in found]

    async def create_silence(self, request: CreateSilenceRequest) -> SilenceRecord:
        """Hold back notifications of matching alerts for a window (their records stay)."""
        now = self.clock()
        starts_at = request.starts_at or now
        if (request.ends_at is None) == (request.duration_seconds is None):
            raise InvalidRequestError(
                "ends_at: give either ends_at or duration_seconds (exactly one)"
            )
        ends_at = request.ends_at or starts_at + timedelta(seconds=request.duration_seconds or 0)
        matchers = request.matchers
        try:
            async with self.pool.acquire() as conn:
                silence = await silence_store.create_silence(
                    conn,
                    matchers,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    by=request.by or DEFAULT_ACTOR,
                    now=now,
                    comment=request.comment,
                )
        except SilenceError as exc:
            raise InvalidRequestError(str(exc)) from None
        log.info("silence.created", silence_id=silence.id, ends_at=silence.ends_at.isoformat())
        return silence_record(silence)

    async def expire_silence(self, silence_id: str) -> None:
        """End a silence now; its record stays."""
        async with self.pool.acquire() as conn:
            expired = await silence_store.expire_silence(conn, silence_id, self.clock())
        if not expired:
            raise NotFoundError(
                f"id: no silence {silence_id!r} in force or to come; "
                "GET /api/alerts/silences lists them"
            )
        log.info("silence.expired", silence_id=silence_id)
