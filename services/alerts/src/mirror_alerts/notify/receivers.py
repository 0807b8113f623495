"""Receiver config: where a notification goes, in which format, and which ones it wants.

Decoded from JSON (or a dict from TOML/YAML) with `decode_receivers` / `receivers_from`;
a bad value fails with a msgspec.ValidationError naming its path, e.g.
``Expected `str` matching regex '^https?://...' - at `$.receivers[0].url` ``.

Example::

    {"receivers": [
      {"name": "ops-slack", "url": "https://hooks.slack.com/services/T/B/X", "format": "slack",
       "match": {"severities": ["critical"]}},
      {"name": "phone", "url": "https://ntfy.sh", "format": "ntfy", "topic": "fleet-alerts",
       "headers": {"Authorization": "Bearer tk_..."}, "match": {"tags": {"env": "prod"}}},
      {"name": "automation", "url": "http://127.0.0.1:9000/hooks/alerts"}
    ]}
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from mirror_alerts.notify.model import Notification
from mirror_schema.alerts import AlertSeverity

__all__ = [
    "Format",
    "Matchers",
    "Receiver",
    "ReceiversConfig",
    "decode_receivers",
    "receivers_from",
]

Format = Literal["generic", "slack", "ntfy"]

ReceiverName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="lowercase letters, digits, '_' and '-'; used as a metrics label",
    ),
]
Url = Annotated[
    str,
    msgspec.Meta(pattern=r"^https?://[^\s/?#]+[^\s]*$", description="an http:// or https:// URL"),
]
# RFC 9110 token characters: anything else would be refused by the HTTP client at send time.
HeaderName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
HeaderValue = Annotated[str, msgspec.Meta(pattern=r"^[^\r\n]*$")]
NtfyTopic = Annotated[str, msgspec.Meta(pattern=r"^[-_A-Za-z0-9]{1,64}$")]


class Matchers(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which notifications a receiver wants; every matcher given must hold, none means all."""

    severities: frozenset[AlertSeverity] = frozenset()  # empty: any severity
    tags: dict[str, str] = {}  # each must equal the host's tag of that name

    def matches(self, notification: Notification) -> bool:
        """Whether `notification` passes every matcher."""
        if self.severities and notification.severity not in self.severities:
            return False
        return all(notification.tags.get(k) == v for k, v in self.tags.items())


class Receiver(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One webhook: its URL, body format, extra headers (e.g. auth) and matchers."""

    name: ReceiverName
    url: Url  # never logged: a Slack webhook URL is itself a secret
    format: Format = "generic"
    topic: NtfyTopic | None = None  # ntfy only: the topic, sent in the JSON body
    headers: dict[HeaderName, HeaderValue] = {}  # never logged either
    match: Matchers = msgspec.field(default_factory=Matchers)
    send_resolved: bool = True

    def __post_init__(self) -> None:
        # msgspec reports a ValueError raised here with the receiver's path.
        if self.format == "ntfy" and self.topic is None:
            raise ValueError(f"topic: required when format is 'ntfy' (receiver {self.name!r})")
        if self.format != "ntfy" and self.topic is not None:
            raise ValueError(
                f"topic: only used by format 'ntfy', not {self.format!r} (receiver {self.name!r})"
            )

    def wants(self, notification: Notification) -> bool:
        """Whether this receiver is sent `notification`."""
        if notification.kind == "resolved" and not self.send_resolved:
            return False
        return self.match.matches(notification)


class ReceiversConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every receiver of the service; names are unique."""

    receivers: list[Receiver] = []

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, receiver in enumerate(self.receivers):
            if receiver.name in seen:
                raise ValueError(
                    f"receivers[{index}].name: {receiver.name!r} is used twice; names are unique"
                )
            seen.add(receiver.name)


decode_receivers = msgspec.json.Decoder(ReceiversConfig).decode


def receivers_from(obj: object) -> ReceiversConfig:
    """Validate an already parsed object (e.g. from TOML) as a ReceiversConfig."""
    return msgspec.convert(obj, ReceiversConfig)
