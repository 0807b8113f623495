"""The alerts service's Prometheus metrics, defined once (GET /metrics): the API's, and the
evaluation's (the notifications' are in notify/metrics.py)."""

import prometheus_client

REQUESTS = prometheus_client.Counter(
    "mirror_alerts_requests_total",
    "API requests by operation, door (http, nats) and outcome",
    ["operation", "door", "outcome"],
)

SAMPLES_REFUSED = prometheus_client.Counter(
    "mirror_alerts_samples_refused_total", "Samples dead-lettered: undecodable or crashing"
)

LEADING = prometheus_client.Gauge(
    "mirror_alerts_leader", "1 while this replica is the one evaluating"
)

OPEN_ALERTS = prometheus_client.Gauge("mirror_alerts_open", "Open alerts held by the evaluator")

CONSUMER_LAG = prometheus_client.Gauge(
    "mirror_alerts_consumer_lag", "METRICS samples not yet delivered to the evaluator"
)

SAMPLES_EVALUATED = prometheus_client.Counter(
    "mirror_alerts_samples_evaluated_total", "Samples evaluated by the leading replica"
)

CHANGES = prometheus_client.Counter(
    "mirror_alerts_changes_total", "Alert changes stored and published, by kind", ["kind"]
)
