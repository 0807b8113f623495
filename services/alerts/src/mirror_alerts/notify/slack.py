"""Slack-compatible incoming-webhook body (also taken by Mattermost, Rocket.Chat, Discord's /slack).

POSTed as JSON to the webhook URL::

    {"text": "<title>",                       # the notification preview and fallback
     "attachments": [{
       "color": "#e01e5a",                    # critical; warning #ecb22e, info #36c5f0,
                                              # resolved #2eb67d
       "fallback": "<title>",
       "blocks": [
         {"type": "section", "text": {"type": "mrkdwn", "text": "*<title>*\\n• line\\n• line"}},
         {"type": "context", "elements": [{"type": "mrkdwn",
             "text": "rule `<rule>` · host `<host>` · <ISO timestamp>"}]}]}]}

Colour needs the attachment: top-level blocks have none. At most MAX_LINES alert lines.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from mirror_alerts.notify.model import Notification
from mirror_alerts.notify.text import lines, title

__all__ = ["COLOURS", "SlackBody", "slack_body"]

COLOURS = {
    "critical": "#e01e5a",
    "warning": "#ecb22e",
    "info": "#36c5f0",
    "resolved": "#2eb67d",
}


class SlackText(msgspec.Struct, frozen=True, kw_only=True):
    """A text object of Block Kit."""

    type: Literal["mrkdwn"] = "mrkdwn"
    text: str


class SlackSection(msgspec.Struct, frozen=True, kw_only=True):
    """A section block: the title and the alert lines."""

    type: Literal["section"] = "section"
    text: SlackText


class SlackContext(msgspec.Struct, frozen=True, kw_only=True):
    """A context block: rule, host and time in small print."""

    type: Literal["context"] = "context"
    elements: list[SlackText]


class SlackAttachment(msgspec.Struct, frozen=True, kw_only=True):
    """The coloured bar holding the blocks."""

    color: str
    fallback: str
    blocks: list[SlackSection | SlackContext]


class SlackBody(msgspec.Struct, frozen=True, kw_only=True):
    """The whole incoming-webhook payload."""

    text: str
    attachments: list[SlackAttachment]


def slack_body(notification: Notification) -> SlackBody:
    """The Slack payload of `notification`."""
    n = notification
    head = title(n)
    colour = COLOURS["resolved" if n.kind == "resolved" else n.severity]
    detail = "\n".join([f"*{_escape(head)}*", *(f"• {_escape(line)}" for line in lines(n))])
    when = n.timestamp.isoformat().replace("+00:00", "Z")
    context = f"rule `{_escape(n.rule_id)}` · host `{n.host_id}` · {when}"
    return SlackBody(
        text=head,
        attachments=[
            SlackAttachment(
                color=colour,
                fallback=head,
                blocks=[
                    SlackSection(text=SlackText(text=detail)),
                    SlackContext(elements=[SlackText(text=context)]),
                ],
            )
        ],
    )


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
