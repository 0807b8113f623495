"""The ingest's Prometheus metrics, defined once (GET /metrics)."""

import prometheus_client

ACCEPTED = prometheus_client.Counter(
    "mirror_ingest_samples_accepted_total", "Samples accepted by POST /api/metrics/batch"
)
REJECTED = prometheus_client.Counter(
    "mirror_ingest_samples_rejected_total",
    "Batches refused by POST /api/metrics/batch, by reason",
    ["reason"],
)
PUBLISHED = prometheus_client.Counter(
    "mirror_ingest_samples_published_total", "Samples acknowledged by JetStream"
)
ROWS_WRITTEN = prometheus_client.Counter(
    "mirror_history_rows_written_total", "Metric rows committed to PostgreSQL (new rows only)"
)
SAMPLES_CONSUMED = prometheus_client.Counter(
    "mirror_history_samples_consumed_total", "Samples acknowledged by the history writer"
)
CONSUMER_LAG = prometheus_client.Gauge(
    "mirror_history_consumer_lag", "Messages in METRICS not yet written by the history writer"
)
REQUESTS = prometheus_client.Counter(
    "mirror_ingest_requests_total",
    "History API requests by operation, door (http, nats) and outcome",
    ["operation", "door", "outcome"],
)
