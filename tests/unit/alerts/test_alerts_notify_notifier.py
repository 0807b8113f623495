"""Notifier: events in through observe(), due notifications into the receivers' queues."""

from datetime import UTC, datetime, timedelta

import msgspec
import prometheus_client

from mirror_alerts.notify.dispatcher import Dispatcher
from mirror_alerts.notify.grouping import Grouper
from mirror_alerts.notify.notifier import Notifier
from mirror_alerts.notify.receivers import Receiver
from mirror_schema.alerts import AlertEvent

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def event(host: str, resource: str) -> AlertEvent:
    return msgspec.convert(
        {
            "alert_id": f"{host}/{resource}",
            "rule_id": "disk-full",
            "host_id": host,
            "severity": "warning",
            "state": "firing",
            "message": "disk above 90%",
            "timestamp": T0.isoformat(),
            "resource": resource,
        },
        AlertEvent,
    )


def test_a_storm_reaches_each_receiver_queue_once() -> None:
    """50 events of one host, one tick after the window: one notification per receiver."""
    clock = Clock()
    receivers = [Receiver(name="a", url="http://h/a"), Receiver(name="b", url="http://h/b")]
    dispatcher = Dispatcher(receivers)  # not started: nothing is sent, the queues just fill
    notifier = Notifier(Grouper(group_wait=timedelta(seconds=10)), dispatcher, clock=clock)
    for i in range(50):
        notifier.observe(event("web-01", f"disk:/d{i}"))
    assert notifier.tick() == 0
    clock.now += timedelta(seconds=10)
    assert notifier.tick() == 1
    assert dispatcher.pending() == 2


def test_silenced_events_are_kept_out_of_the_queues() -> None:
    """The silence predicate given to the notifier holds notifications back."""
    clock = Clock()
    dispatcher = Dispatcher([Receiver(name="a", url="http://h/a")])
    notifier = Notifier(Grouper(), dispatcher, silenced=lambda e: True, clock=clock)
    notifier.observe(event("web-01", "disk:/"))
    clock.now += timedelta(minutes=5)
    assert notifier.tick() == 0
    assert dispatcher.pending() == 0


def test_events_past_the_group_cap_are_counted() -> None:
    """An incident refused by a full grouper is counted on /metrics, not silently lost."""
    name = "mirror_alerts_notification_groups_overflow_total"
    before = prometheus_client.REGISTRY.get_sample_value(name) or 0.0
    notifier = Notifier(Grouper(max_groups=1), Dispatcher([]), clock=Clock())
    assert notifier.observe(event("a", "")) == "accepted"
    assert notifier.observe(event("b", "")) == "overflow"
    assert prometheus_client.REGISTRY.get_sample_value(name) == before + 1
