"""Where a new leader resumes: its evaluator rebuilt from PostgreSQL, and the durable consumer
set at the stream position that evaluator covers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import asyncpg
import nats.aio.client
import nats.js.errors
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mirror_alerts.evaluation.alert_state import AlertChange, event_of_open, open_alert_of
from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.notify.notifier import Notifier
from mirror_alerts.rules import Rule
from mirror_alerts.silences import Silence
from mirror_alerts.stores import alert_store, rule_store, silence_store, snapshot_store
from mirror_runtime.pull import BatchPuller
from mirror_schema import streams, subjects

__all__ = ["DURABLE", "Resumed", "bind_consumer", "resume_state", "seed_notifier"]

log = structlog.get_logger()

DURABLE: Final = streams.CONSUMER_ALERTS
ACK_WAIT_SECONDS: Final = 60.0
# How long a notification may take to be delivered, retries included (webhook.RetryPolicy).
DELIVERY_ALLOWANCE: Final = timedelta(seconds=60)
MAX_DELIVER: Final = 10
MAX_ACK_PENDING: Final = 20_000


@dataclass(frozen=True)
class Resumed:
    """A rebuilt evaluator and what came with it."""

    evaluator: Evaluator
    rules: list[Rule]
    position: int  # the METRICS sequence it covers; 0: start from each host's latest sample
    last_seq: int  # the last METRICS sequence at the restore: up to it, samples are a replay
    stored_open: set[str]  # ids of the alerts open in the store
    changes: list[AlertChange]  # alerts of rules gone meanwhile, closed by the restore
    silences: list[Silence]
    adopted: int
    saved_at: datetime | None


async def resume_state(
    pool: asyncpg.Pool, js: nats.js.JetStreamContext, *, max_replay: int, now: datetime
) -> Resumed:
    """Rules, the snapshot, the open alerts stored since it, silences; and the position.

    A backlog past ``max_replay`` samples is not replayed: then the store, not the snapshot,
    says which alerts are open (one the snapshot holds may have resolved since).
    """
    async with pool.acquire() as conn:
        rules = [stored.rule for stored in await rule_store.list_rules(conn)]
        saved = await snapshot_store.load_snapshot(conn)
        active = await alert_store.list_active(conn)
        silences = await silence_store.list_silences(conn, now)
    info = await js.stream_info(streams.METRICS.name)
    evaluator = Evaluator(rules)
    changes: list[AlertChange] = []
    position = 0
    if saved is not None:
        try:
            changes += evaluator.restore(saved.snapshot, now)
            position = saved.position
        except ValueError as exc:
            log.error("snapshot.unusable", error=str(exc))
    backlog = info.state.last_seq - position
    if position > 0 and not 0 <= backlog <= max_replay:
        log.warning(
            "evaluator.replay_skipped",
            position=position,
            last_seq=info.state.last_seq,
            max_replay=max_replay,
        )
        position = 0
    stored_open = {record.alert_id for record in active}
    if position == 0:
        evaluator.keep_only(stored_open)
    adopted = evaluator.adopt(open_alert_of(record) for record in active)
    changes += evaluator.set_rules(rules, now)  # closes adopted alerts of rules gone
    return Resumed(
        evaluator=evaluator,
        rules=rules,
        position=position,
        last_seq=info.state.last_seq,
        stored_open=stored_open,
        changes=changes,
        silences=silences,
        adopted=adopted,
        saved_at=None if saved is None else saved.saved_at,
    )


async def bind_consumer(nc: nats.aio.client.Client, position: int) -> BatchPuller:
    """(Re)create the durable consumer to deliver from ``position + 1`` (or, at 0, each
    host's latest sample first); the leader alone pulls it."""
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name=DURABLE,
        filter_subject=subjects.METRICS_RAW_ALL,
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=MAX_DELIVER,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=MAX_ACK_PENDING,
    )
    if position > 0:
        config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = position + 1
        log.info("evaluator.replaying", from_seq=position + 1)
    else:
        # No usable position: every host's latest sample, so that each is known at once.
        config.deliver_policy = DeliverPolicy.LAST_PER_SUBJECT
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_consumer(streams.METRICS.name, DURABLE)
    await js.add_consumer(streams.METRICS.name, config=config)
    puller = BatchPuller(nc, streams.METRICS.name, DURABLE)
    await puller.start()
    return puller


def seed_notifier(
    notifier: Notifier, resumed: Resumed, group_wait: timedelta, now: datetime
) -> None:
    """Tell the notifier of the alerts open in the store as the new leader finds them.

    Notifications are at least once: an alert fired too close to the last snapshot for its
    notification to be surely delivered (held for group_wait, then retried) is told again;
    the body names its id, by which a receiver drops a repeat. The others are adopted as
    already told.
    """
    unsure_since = (resumed.saved_at or now) - group_wait - DELIVERY_ALLOWANCE
    evaluator = resumed.evaluator
    for alert in evaluator.open_alerts():
        if alert.alert_id not in resumed.stored_open:
            continue
        tags = evaluator.tags_of(alert.host_id)
        event = event_of_open(alert)
        if alert.acknowledged_by is None and alert.fired_at >= unsure_since:
            notifier.observe(event, tags=tags)
        else:
            notifier.adopt(event, tags=tags)
