"""ntfy JSON publish body (https://docs.ntfy.sh/publish/#publish-as-json).

POSTed as JSON to the ntfy server's root URL (e.g. `https://ntfy.sh`), the topic in the body::

    {"topic": "<receiver's topic>",
     "title": "<title>",
     "message": "<one line per alert, at most MAX_LINES>",
     "priority": 5,                         # critical 5 (max), warning 4 (high), info 3;
                                            # resolved 3 (default)
     "tags": ["rotating_light", "<host>", "<rule>"]}  # first tag an emoji short code:
                                            # rotating_light, warning, information_source,
                                            # white_check_mark (resolved)

An access token goes in the receiver's headers: {"Authorization": "Bearer tk_..."}.
"""

from __future__ import annotations

import msgspec

from mirror_alerts.notify.model import Notification
from mirror_alerts.notify.text import lines, title

__all__ = ["NtfyBody", "ntfy_body"]

PRIORITIES = {"critical": 5, "warning": 4, "info": 3, "resolved": 3}
EMOJI = {
    "critical": "rotating_light",
    "warning": "warning",
    "info": "information_source",
    "resolved": "white_check_mark",
}


class NtfyBody(msgspec.Struct, frozen=True, kw_only=True):
    """ntfy's JSON publish message."""

    topic: str
    title: str
    message: str
    priority: int
    tags: list[str]


def ntfy_body(notification: Notification, *, topic: str) -> NtfyBody:
    """The ntfy message of `notification`, published on `topic`."""
    n = notification
    level = "resolved" if n.kind == "resolved" else n.severity
    return NtfyBody(
        topic=topic,
        title=title(n),
        message="\n".join(lines(n)),
        priority=PRIORITIES[level],
        tags=[EMOJI[level], n.host_id, n.rule_id],
    )
