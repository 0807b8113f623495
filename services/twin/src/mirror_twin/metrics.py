"""The twin service's Prometheus metrics, defined once (GET /metrics)."""

import prometheus_client

SAMPLES_APPLIED = prometheus_client.Counter(
    "mirror_twin_samples_applied_total", "Samples applied to the twin"
)

SAMPLES_REFUSED = prometheus_client.Counter(
    "mirror_twin_samples_refused_total", "Messages on metrics.raw.> that are not valid samples"
)

DIFFS_SENT = prometheus_client.Counter("mirror_twin_diffs_total", "Diffs broadcast")
SKIPS_TO_LATEST = prometheus_client.Counter(
    "mirror_twin_skips_to_latest_total",
    "Times the twin fell MIRROR_STAGE_TWIN_MAX_LAG_SECONDS behind and skipped to every host's "
    "latest sample",
)

CLIENTS = prometheus_client.Gauge("mirror_twin_clients", "Connected WebSocket clients")

CHECKPOINTS = prometheus_client.Counter(
    "mirror_twin_checkpoints_total", "Checkpoints saved", ["outcome"]
)

RELAYED = prometheus_client.Counter(
    "mirror_twin_relayed_total", "Bus messages passed on to WebSocket clients", ["type"]
)

RELAY_REFUSED = prometheus_client.Counter(
    "mirror_twin_relay_refused_total",
    "Bus messages not passed on: undecodable, or about another host than their subject's",
    ["type"],
)

THROTTLED = prometheus_client.Counter(
    "mirror_twin_relay_throttled_total",
    "Live output chunks dropped: their host sent more than its rate (OUTPUT_CHUNKS_PER_SECOND)",
    ["type"],
)

CLIENTS_RESYNCED = prometheus_client.Counter(
    "mirror_twin_client_resyncs_total",
    "Times a WebSocket client fell behind: its queued messages dropped, a full frame sent next",
)

MESSAGES_DROPPED = prometheus_client.Counter(
    "mirror_twin_client_messages_dropped_total",
    "Messages dropped from the queues of WebSocket clients that fell behind",
)

FORWARDED_TOTAL = prometheus_client.Counter(
    "mirror_twin_forwarded_total",
    "The HUD's API calls forwarded to the owning service, by subject and outcome",
    ["subject", "outcome"],
)
REQUESTS = prometheus_client.Counter(
    "mirror_twin_requests_total",
    "The HUD's API calls at the twin's HTTP door, by operation (service.name) and outcome",
    ["operation", "door", "outcome"],
)
