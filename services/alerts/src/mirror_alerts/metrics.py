"""The alerts service's API metrics, defined once (GET /metrics); the engine's are in engine.py."""

import prometheus_client

REQUESTS = prometheus_client.Counter(
    "mirror_alerts_requests_total",
    "API requests by operation, door (http, nats) and outcome",
    ["operation", "door", "outcome"],
)
