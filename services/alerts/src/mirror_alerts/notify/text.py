"""The human-readable title and lines of a notification, shared by every format."""

from __future__ import annotations

from mirror_alerts.notify.model import Notification
from mirror_schema.alerts import AlertEvent

__all__ = ["MAX_LINES", "alert_line", "lines", "title"]

# A storm of 500 resources still makes a message a phone can show; the generic JSON lists all.
MAX_LINES = 20


def title(notification: Notification) -> str:
    """E.g. `[CRITICAL] disk-full firing on web-01 (3 alerts)`, `[RESOLVED] disk-full on web-01`."""
    n = notification
    count = f" ({len(n.alerts)} alerts)" if len(n.alerts) > 1 else ""
    if n.kind == "resolved":
        return f"[RESOLVED] {n.rule_id} on {n.host_id}{count}"
    verb = "still firing" if n.kind == "repeat" else "firing"
    return f"[{n.severity.upper()}] {n.rule_id} {verb} on {n.host_id}{count}"


def alert_line(alert: AlertEvent) -> str:
    """One alert as a line: `disk:/: disk 95% full (value 95.2, threshold 90)`."""
    line = f"{alert.resource or 'host'}: {alert.message}"
    if alert.value is not None:
        line += f" (value {alert.value:g}"
        line += f", threshold {alert.threshold:g})" if alert.threshold is not None else ")"
    if alert.state == "acknowledged":
        line += f" [acknowledged by {alert.acknowledged_by or 'someone'}]"
    if alert.state == "resolved" and alert.duration_seconds is not None:
        line += f" [resolved after {_duration(alert.duration_seconds)}]"
    return line


def lines(notification: Notification) -> list[str]:
    """One line per alert, at most MAX_LINES, then `... and N more`."""
    shown = [alert_line(a) for a in notification.alerts[:MAX_LINES]]
    hidden = len(notification.alerts) - MAX_LINES
    if hidden > 0:
        shown.append(f"... and {hidden} more")
    return shown


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
