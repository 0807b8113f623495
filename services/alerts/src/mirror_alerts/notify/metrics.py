"""The notification pipeline's Prometheus metrics, defined once (GET /metrics)."""

import prometheus_client

SENT = prometheus_client.Counter(
    "mirror_alerts_notifications_sent_total",
    "Notifications a receiver accepted (2xx), by receiver",
    ["receiver"],
)
FAILED = prometheus_client.Counter(
    "mirror_alerts_notifications_failed_total",
    "Notifications given up on, by receiver and reason (rejected, gave_up, crashed)",
    ["receiver", "reason"],
)
RETRIED = prometheus_client.Counter(
    "mirror_alerts_notification_retries_total",
    "Delivery attempts after the first, by receiver",
    ["receiver"],
)
DROPPED = prometheus_client.Counter(
    "mirror_alerts_notifications_dropped_total",
    "Pending notifications dropped, oldest first, because a receiver's queue was full",
    ["receiver"],
)
UNGROUPED = prometheus_client.Counter(
    "mirror_alerts_notification_groups_overflow_total",
    "Alert events not notified because the grouper already held its maximum of groups",
)
