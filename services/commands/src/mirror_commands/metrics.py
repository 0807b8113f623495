"""The commands service's Prometheus metrics, defined once (GET /metrics)."""

import prometheus_client

TRANSITIONS = prometheus_client.Counter(
    "mirror_commands_transitions_total",
    "Command state transitions applied, by new state",
    ["state"],
)
REQUESTS = prometheus_client.Counter(
    "mirror_commands_requests_total",
    "API requests by operation, door (http, nats) and outcome",
    ["operation", "door", "outcome"],
)
RESULTS_IGNORED = prometheus_client.Counter(
    "mirror_commands_results_ignored_total",
    "Status reports and results that changed nothing, by reason",
    ["reason"],
)

SAMPLES_SEEN = prometheus_client.Counter(
    "mirror_commands_samples_seen_total", "Samples that updated the commands' host directory"
)

SAMPLES_REFUSED = prometheus_client.Counter(
    "mirror_commands_samples_refused_total", "Messages on metrics.raw.> that are not samples"
)
