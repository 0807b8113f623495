"""Webhook delivery against a real local HTTP server: payloads arrive, failures are bounded.

The receiver is webhook_helpers.WebhookServer, a real HTTP server on a free port that
answers by path (see there).
"""

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest_asyncio
from webhook_helpers import WebhookServer, counter, running_webhook

from mirror_alerts.notify.dispatcher import Dispatcher
from mirror_alerts.notify.formats import render
from mirror_alerts.notify.grouping import Grouper
from mirror_alerts.notify.model import Notification
from mirror_alerts.notify.notifier import Notifier
from mirror_alerts.notify.receivers import Receiver
from mirror_alerts.notify.webhook import RetryPolicy
from mirror_schema.alerts import AlertEvent
from waiting import wait_until

# Retries in milliseconds, so that giving up takes a fraction of a second.
FAST = RetryPolicy(
    timeout_seconds=5.0,
    max_attempts=3,
    base_delay_seconds=0.01,
    max_delay_seconds=0.05,
    max_total_seconds=10.0,
)


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[WebhookServer]:
    """The local receiver, stopped after the test."""
    async with running_webhook() as server:
        yield server


def notification(host: str = "web-01", kind: str = "firing") -> Notification:
    alert = msgspec.convert(
        {
            "alert_id": f"cpu-high/{host}",
            "rule_id": "cpu-high",
            "host_id": host,
            "severity": "critical",
            "state": "resolved" if kind == "resolved" else "firing",
            "message": "CPU above 90%",
            "timestamp": "2026-05-01T12:00:00Z",
            "value": 97.0,
            "threshold": 90.0,
        },
        AlertEvent,
    )
    return msgspec.convert(
        {
            "kind": kind,
            "rule_id": "cpu-high",
            "host_id": host,
            "severity": "critical",
            "alerts": [msgspec.to_builtins(alert)],
            "timestamp": datetime(2026, 5, 1, 12, 0, 1, tzinfo=UTC).isoformat(),
        },
        Notification,
    )


async def test_receivers_get_the_payloads_in_their_formats(
    webhook: WebhookServer, unique: str
) -> None:
    """Generic, Slack and ntfy receivers each get the rendered body, with their headers."""
    receivers = [
        Receiver(name=f"gen-{unique}", url=webhook.url("/ok"), headers={"Authorization": "T k"}),
        Receiver(name=f"slack-{unique}", url=webhook.url("/ok"), format="slack"),
        Receiver(name=f"ntfy-{unique}", url=webhook.url("/ok"), format="ntfy", topic="fleet"),
    ]
    n = notification()
    async with Dispatcher(receivers, policy=FAST) as dispatcher:
        assert dispatcher.enqueue(n) == 3
        await wait_until(lambda: webhook.count("/ok") == 3, timeout=10, what="3 deliveries")
    expected = sorted((render(n, r) for r in receivers), key=len)
    assert sorted((h.body for h in webhook.hits), key=len) == expected
    assert all(h.headers["content-type"] == "application/json" for h in webhook.hits)
    assert [h.headers.get("authorization") for h in webhook.hits].count("T k") == 1
    for r in receivers:
        assert counter("mirror_alerts_notifications_sent_total", receiver=r.name) == 1


async def test_a_failing_receiver_is_retried_then_given_up_without_holding_others(
    webhook: WebhookServer, unique: str
) -> None:
    """A 500 is retried max_attempts times, then counted as given up; others are served."""
    failing = Receiver(name=f"fail-{unique}", url=webhook.url("/fail"))
    healthy = Receiver(name=f"ok-{unique}", url=webhook.url("/ok"))
    async with Dispatcher([failing, healthy], policy=FAST) as dispatcher:
        dispatcher.enqueue(notification("web-01"))
        dispatcher.enqueue(notification("web-02"))
        await wait_until(
            lambda: (
                counter(
                    "mirror_alerts_notifications_failed_total",
                    receiver=failing.name,
                    reason="gave_up",
                )
                == 2
            ),
            timeout=10,
            what="both notifications given up",
        )
    assert webhook.count("/fail") == 2 * FAST.max_attempts
    assert counter("mirror_alerts_notification_retries_total", receiver=failing.name) == 4
    assert [b["host_id"] for b in webhook.bodies("/ok")] == ["web-01", "web-02"]


async def test_a_client_error_is_not_retried(webhook: WebhookServer, unique: str) -> None:
    """A 400 means the request is wrong: one attempt, counted as rejected."""
    bad = Receiver(name=f"bad-{unique}", url=webhook.url("/bad"))
    async with Dispatcher([bad], policy=FAST) as dispatcher:
        dispatcher.enqueue(notification())
        await wait_until(
            lambda: (
                counter(
                    "mirror_alerts_notifications_failed_total", receiver=bad.name, reason="rejected"
                )
                == 1
            ),
            timeout=10,
            what="the 400 counted as rejected",
        )
    assert webhook.count("/bad") == 1
    assert counter("mirror_alerts_notification_retries_total", receiver=bad.name) == 0


async def test_too_many_requests_is_retried_and_then_sent(
    webhook: WebhookServer, unique: str
) -> None:
    """A 429 is transient: the retry goes through."""
    busy = Receiver(name=f"busy-{unique}", url=webhook.url("/busy"))
    async with Dispatcher([busy], policy=FAST) as dispatcher:
        dispatcher.enqueue(notification())
        await wait_until(
            lambda: counter("mirror_alerts_notifications_sent_total", receiver=busy.name) == 1,
            timeout=10,
            what="the retried delivery",
        )
    assert webhook.count("/busy") == 2


async def test_a_receiver_that_times_out_is_retried_then_given_up(
    webhook: WebhookServer, unique: str
) -> None:
    """No answer within the timeout counts as a failed attempt; the attempts are bounded."""
    policy = msgspec.structs.replace(FAST, timeout_seconds=0.2, max_attempts=2)
    hanging = Receiver(name=f"slow-{unique}", url=webhook.url("/hang"))
    async with Dispatcher([hanging], policy=policy) as dispatcher:
        dispatcher.enqueue(notification())
        await wait_until(
            lambda: (
                counter(
                    "mirror_alerts_notifications_failed_total",
                    receiver=hanging.name,
                    reason="gave_up",
                )
                == 1
            ),
            timeout=10,
            what="the timed-out delivery given up",
        )
    assert webhook.count("/hang") == 2


async def test_enqueue_never_waits_for_a_hanging_receiver(
    webhook: WebhookServer, unique: str
) -> None:
    """Enqueueing is synchronous; a full queue drops its oldest; other receivers carry on."""
    assert not inspect.iscoroutinefunction(Dispatcher.enqueue)  # it cannot await the network
    patient = msgspec.structs.replace(FAST, timeout_seconds=60.0, max_total_seconds=60.0)
    hanging = Receiver(name=f"hang-{unique}", url=webhook.url("/hang"))
    healthy = Receiver(name=f"fine-{unique}", url=webhook.url("/ok"))
    async with Dispatcher([hanging, healthy], policy=patient, queue_size=4) as dispatcher:
        dispatcher.enqueue(notification("h-0"))
        await wait_until(
            lambda: webhook.count("/hang") == 1 and webhook.count("/ok") == 1,
            timeout=10,
            what="h-0 hung at one receiver and delivered to the other",
        )
        # The worker of `hanging` is stuck in its request. A burst of ten, with no await in
        # between, returns at once all the same: each queue keeps its newest 4.
        for i in range(1, 11):
            assert dispatcher.enqueue(notification(f"h-{i}")) == 2
        assert dispatcher.pending() == 8
        for name in (hanging.name, healthy.name):
            assert counter("mirror_alerts_notifications_dropped_total", receiver=name) == 6
        await wait_until(lambda: webhook.count("/ok") == 5, timeout=10, what="the healthy 5")
        assert webhook.count("/hang") == 1  # still hung while the other receiver went on
        webhook.release.set()  # the hung receiver answers; what is left in its queue goes
        await wait_until(lambda: webhook.count("/hang") == 5, timeout=10, what="the queue drained")
    newest = ["h-0", "h-7", "h-8", "h-9", "h-10"]  # the oldest pending were the ones dropped
    assert [b["host_id"] for b in webhook.bodies("/ok")] == newest
    assert [b["host_id"] for b in webhook.bodies("/hang")] == newest


async def test_a_storm_of_50_resources_reaches_the_receiver_as_one_message_each_way(
    webhook: WebhookServer, unique: str
) -> None:
    """Grouper, dispatcher and a real receiver: one firing body for 50 alerts, one resolved."""
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    clock = [now]
    receiver = Receiver(name=f"storm-{unique}", url=webhook.url("/ok"))
    async with Dispatcher([receiver], policy=FAST) as dispatcher:
        notifier = Notifier(
            Grouper(group_wait=timedelta(seconds=10)), dispatcher, clock=lambda: clock[0]
        )
        for state in ("firing", "resolved"):
            for i in range(50):
                alert = msgspec.structs.replace(
                    notification().alerts[0],
                    alert_id=f"a{i}",
                    resource=f"disk:/d{i}",
                    state=state,
                    timestamp=clock[0],
                )
                notifier.observe(alert)
            clock[0] += timedelta(seconds=10)
            assert notifier.tick() == 1
        await wait_until(lambda: webhook.count("/ok") == 2, timeout=10, what="two messages")
    firing, resolved = webhook.bodies("/ok")
    assert (firing["kind"], firing["title"]) == (
        "firing",
        "[CRITICAL] cpu-high firing on web-01 (50 alerts)",
    )
    assert (resolved["kind"], resolved["title"]) == (
        "resolved",
        "[RESOLVED] cpu-high on web-01 (50 alerts)",
    )
