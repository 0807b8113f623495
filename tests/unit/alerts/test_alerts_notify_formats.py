"""Notification bodies: generic, Slack-compatible and ntfy JSON, byte for byte what is POSTed."""

from datetime import UTC, datetime

import msgspec
import pytest

from mirror_alerts.notify.formats import render
from mirror_alerts.notify.model import Notification, NotificationKind
from mirror_alerts.notify.receivers import Receiver
from mirror_alerts.notify.text import MAX_LINES, title
from mirror_schema.alerts import AlertEvent, AlertSeverity

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
GENERIC = Receiver(name="auto", url="http://127.0.0.1:9000/hook")
SLACK = Receiver(name="chat", url="https://hooks.slack.com/services/T/B/X", format="slack")
NTFY = Receiver(name="phone", url="https://ntfy.sh", format="ntfy", topic="fleet")


def event(
    resource: str = "disk:/",
    *,
    state: str = "firing",
    severity: AlertSeverity = "critical",
    value: float | None = 95.5,
    acknowledged_by: str | None = None,
    duration_seconds: float | None = None,
) -> AlertEvent:
    return msgspec.convert(
        {
            "alert_id": f"a-{resource}",
            "rule_id": "disk-full",
            "host_id": "web-01",
            "severity": severity,
            "state": state,
            "message": "disk above 90%",
            "timestamp": "2026-05-01T11:59:00Z",
            "resource": resource,
            "value": value,
            "threshold": 90.0 if value is not None else None,
            "acknowledged_by": acknowledged_by,
            "duration_seconds": duration_seconds,
        },
        AlertEvent,
    )


def notification(
    kind: NotificationKind = "firing",
    alerts: tuple[AlertEvent, ...] | None = None,
    severity: AlertSeverity = "critical",
) -> Notification:
    return Notification(
        kind=kind,
        rule_id="disk-full",
        host_id="web-01",
        severity=severity,
        alerts=alerts if alerts is not None else (event("disk:/"), event("disk:/var")),
        timestamp=NOW,
        tags={"env": "prod"},
    )


def body(n: Notification, receiver: Receiver) -> object:
    return msgspec.json.decode(render(n, receiver))


def test_generic_body_is_our_documented_json() -> None:
    """The generic body carries every field, the capped text and every alert event."""
    n = notification()
    assert body(n, GENERIC) == {
        "version": 1,
        "kind": "firing",
        "status": "firing",
        "rule_id": "disk-full",
        "host_id": "web-01",
        "severity": "critical",
        "title": "[CRITICAL] disk-full firing on web-01 (2 alerts)",
        "message": "disk:/: disk above 90% (value 95.5, threshold 90)\n"
        "disk:/var: disk above 90% (value 95.5, threshold 90)",
        "timestamp": "2026-05-01T12:00:00Z",
        "tags": {"env": "prod"},
        "alerts": [msgspec.to_builtins(a) for a in n.alerts],
    }


def test_generic_alerts_decode_back_as_alert_events() -> None:
    """An automation can decode `alerts` with the same AlertEvent as on alerts.events.<host>."""
    n = notification()
    decoded = msgspec.json.decode(render(n, GENERIC))
    assert isinstance(decoded, dict)
    assert msgspec.convert(decoded["alerts"], list[AlertEvent]) == list(n.alerts)


def test_slack_body_has_text_and_a_coloured_attachment() -> None:
    """Slack gets a preview text and blocks inside an attachment coloured by severity."""
    n = notification(alerts=(event("host", value=None),))
    assert body(n, SLACK) == {
        "text": "[CRITICAL] disk-full firing on web-01",
        "attachments": [
            {
                "color": "#e01e5a",
                "fallback": "[CRITICAL] disk-full firing on web-01",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "*[CRITICAL] disk-full firing on web-01*\n"
                            "• host: disk above 90%",
                        },
                    },
                    {
                        "type": "context",
                        "elements": [
                            {
                                "type": "mrkdwn",
                                "text": "rule `disk-full` · host `web-01` · 2026-05-01T12:00:00Z",
                            }
                        ],
                    },
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("kind", "severity", "colour"),
    [
        ("firing", "critical", "#e01e5a"),
        ("repeat", "warning", "#ecb22e"),
        ("firing", "info", "#36c5f0"),
        ("resolved", "critical", "#2eb67d"),
    ],
)
def test_slack_colour_follows_severity_and_resolution(
    kind: NotificationKind, severity: AlertSeverity, colour: str
) -> None:
    """Red for critical, amber for warning, blue for info, green once resolved."""
    decoded = body(notification(kind, severity=severity), SLACK)
    assert isinstance(decoded, dict)
    assert decoded["attachments"][0]["color"] == colour


def test_slack_escapes_its_control_characters() -> None:
    """A message with <, > or & cannot inject a Slack mention or link."""
    e = msgspec.structs.replace(event(value=None), message="<!channel> a & b")
    decoded = body(notification(alerts=(e,)), SLACK)
    assert isinstance(decoded, dict)
    text = decoded["attachments"][0]["blocks"][0]["text"]["text"]
    assert "• disk:/: &lt;!channel&gt; a &amp; b" in text


def test_ntfy_body_is_ntfys_json_publish_format() -> None:
    """ntfy gets the topic, title, message, a priority by severity and an emoji tag first."""
    n = notification(kind="repeat", severity="warning", alerts=(event(severity="warning"),))
    assert body(n, NTFY) == {
        "topic": "fleet",
        "title": "[WARNING] disk-full still firing on web-01",
        "message": "disk:/: disk above 90% (value 95.5, threshold 90)",
        "priority": 4,
        "tags": ["warning", "web-01", "disk-full"],
    }


def test_ntfy_resolved_message() -> None:
    """A resolved message says how long each alert fired, at default priority, with a tick."""
    resolved = event(state="resolved", duration_seconds=754)
    assert body(notification("resolved", alerts=(resolved,)), NTFY) == {
        "topic": "fleet",
        "title": "[RESOLVED] disk-full on web-01",
        "message": "disk:/: disk above 90% (value 95.5, threshold 90) [resolved after 12m34s]",
        "priority": 3,
        "tags": ["white_check_mark", "web-01", "disk-full"],
    }


def test_acknowledged_alerts_say_by_whom() -> None:
    """A repeat lists an acknowledged alert with who acknowledged it."""
    acked = event(state="acknowledged", acknowledged_by="ana", value=None)
    decoded = body(notification("repeat", alerts=(acked,)), NTFY)
    assert isinstance(decoded, dict)
    assert decoded["message"] == "disk:/: disk above 90% [acknowledged by ana]"


def test_a_storm_is_listed_up_to_a_cap_in_text_but_whole_in_generic() -> None:
    """50 resources: the text shows MAX_LINES and 'and N more'; the generic alerts list all."""
    storm = tuple(event(f"disk:/d{i:02d}") for i in range(50))
    n = notification(alerts=storm)
    assert title(n) == "[CRITICAL] disk-full firing on web-01 (50 alerts)"
    decoded = body(n, GENERIC)
    assert isinstance(decoded, dict)
    text_lines = decoded["message"].split("\n")
    assert len(text_lines) == MAX_LINES + 1
    assert text_lines[-1] == f"... and {50 - MAX_LINES} more"
    assert len(decoded["alerts"]) == 50
