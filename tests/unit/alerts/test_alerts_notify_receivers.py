"""Receiver config: validated on decode, errors naming the field; matchers pick notifications."""

from datetime import UTC, datetime

import msgspec
import pytest

from mirror_alerts.notify.model import Notification
from mirror_alerts.notify.receivers import Matchers, Receiver, decode_receivers, receivers_from
from mirror_schema.alerts import AlertSeverity


def notification(severity: AlertSeverity = "critical", **tags: str) -> Notification:
    return Notification(
        kind="firing",
        rule_id="cpu-high",
        host_id="web-01",
        severity=severity,
        alerts=(),
        timestamp=datetime(2026, 5, 1, tzinfo=UTC),
        tags=tags,
    )


def test_a_full_config_decodes() -> None:
    """Every field of the documented example is accepted."""
    config = decode_receivers(
        b"""{"receivers": [
          {"name": "ops-slack", "url": "https://hooks.slack.com/services/T/B/X",
           "format": "slack", "match": {"severities": ["critical"]}},
          {"name": "phone", "url": "https://ntfy.sh", "format": "ntfy", "topic": "fleet",
           "headers": {"Authorization": "Bearer tk_x"}, "match": {"tags": {"env": "prod"}}},
          {"name": "automation", "url": "http://127.0.0.1:9000/hooks/alerts",
           "send_resolved": false}
        ]}"""
    )
    slack, phone, automation = config.receivers
    assert slack.match.severities == frozenset({"critical"})
    assert phone.headers == {"Authorization": "Bearer tk_x"}
    assert automation.format == "generic"
    assert not automation.send_resolved


@pytest.mark.parametrize(
    ("receiver", "where"),
    [
        ({"name": "x", "url": "ftp://example.com"}, "$.receivers[0].url"),
        ({"name": "x", "url": "https://"}, "$.receivers[0].url"),
        ({"name": "x", "url": "http://h", "format": "teams"}, "$.receivers[0].format"),
        ({"name": "Bad Name", "url": "http://h"}, "$.receivers[0].name"),
        ({"name": "x", "url": "http://h", "headers": {"X-A": "a\r\nb"}}, "$.receivers[0].headers"),
        ({"name": "x", "url": "http://h", "headers": {"a b": "c"}}, "$.receivers[0].headers"),
        (
            {"name": "x", "url": "http://h", "match": {"severities": ["fatal"]}},
            "$.receivers[0].match.severities",
        ),
        ({"name": "x", "url": "http://h", "colour": "red"}, "$.receivers[0]"),
    ],
)
def test_bad_values_fail_naming_the_field(receiver: dict[str, object], where: str) -> None:
    """A bad URL, format, name, header or severity fails with its path in the message."""
    with pytest.raises(msgspec.ValidationError) as caught:
        receivers_from({"receivers": [receiver]})
    assert f"`{where}" in str(caught.value)


def test_ntfy_needs_a_topic() -> None:
    """An ntfy receiver without a topic fails naming `topic` and the receiver."""
    with pytest.raises(
        msgspec.ValidationError, match=r"topic: required .* - at `\$.receivers\[0\]`"
    ):
        receivers_from(
            {"receivers": [{"name": "phone", "url": "https://ntfy.sh", "format": "ntfy"}]}
        )


def test_a_topic_is_only_for_ntfy() -> None:
    """A topic on a Slack receiver is a mistake, said so."""
    with pytest.raises(msgspec.ValidationError, match="topic: only used by format 'ntfy'"):
        receivers_from(
            {"receivers": [{"name": "c", "url": "https://h", "format": "slack", "topic": "t"}]}
        )


def test_receiver_names_are_unique() -> None:
    """Two receivers with one name would share metrics; the second is refused."""
    with pytest.raises(msgspec.ValidationError, match=r"receivers\[1\].name: 'a' is used twice"):
        receivers_from({"receivers": [{"name": "a", "url": "http://h"}] * 2})


def test_no_matchers_means_everything() -> None:
    """A receiver without matchers is sent every notification."""
    assert Matchers().matches(notification("info"))


def test_matchers_on_severity_and_tags_all_hold() -> None:
    """Severity must be listed and every tag must equal the host's."""
    m = Matchers(severities=frozenset({"critical", "warning"}), tags={"env": "prod"})
    assert m.matches(notification("critical", env="prod", rack="r1"))
    assert not m.matches(notification("info", env="prod"))
    assert not m.matches(notification("critical", env="dev"))
    assert not m.matches(notification("critical"))


def test_send_resolved_false_skips_resolved_messages() -> None:
    """A receiver may opt out of resolved messages."""
    r = Receiver(name="pager", url="https://h", send_resolved=False)
    resolved = msgspec.structs.replace(notification(), kind="resolved")
    assert r.wants(notification())
    assert not r.wants(resolved)
