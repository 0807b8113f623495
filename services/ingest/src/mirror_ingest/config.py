"""IngestConfig: the ingest's limits and the history's settings, read once from the environment."""

from collections.abc import Mapping

import msgspec

from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import read_number, stage_environment
from mirror_schema import streams


class IngestConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the ingest service reads at start-up."""

    service: ServiceConfig
    # POST /api/metrics/batch
    max_body_bytes: int = 4 * 2**20
    max_batch_samples: int = 1000
    max_future_seconds: float = 300.0
    # Older than the METRICS stream keeps: it would be published only to be dropped.
    max_age_seconds: float = streams.METRICS.max_age_seconds
    host_rate_per_second: float = 10.0
    host_burst: float = 200.0
    ack_timeout_seconds: float = 5.0
    # Per-agent bearer tokens (mirror_ingest.tokens); None: any client may post (loopback only).
    tokens_file: str | None = None
    # History
    retention_days: int = 30
    history_batch_size: int = 1000


def from_env(environ: Mapping[str, str]) -> IngestConfig:
    """Build the ingest's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    service = service_config_from_env("ingest", "INGEST", environ)
    env = stage_environment(environ)
    defaults = IngestConfig(service=service)

    def number(name: str, default: float, minimum: float) -> float:
        return read_number(env, f"MIRROR_STAGE_{name}", default, minimum=minimum)

    return IngestConfig(
        service=service,
        tokens_file=env.get("MIRROR_STAGE_INGEST_TOKENS_FILE") or None,
        max_body_bytes=int(number("INGEST_MAX_BODY_BYTES", defaults.max_body_bytes, 1024)),
        max_batch_samples=int(number("INGEST_MAX_BATCH", defaults.max_batch_samples, 1)),
        max_future_seconds=number("INGEST_MAX_FUTURE_SECONDS", defaults.max_future_seconds, 0),
        max_age_seconds=number("INGEST_MAX_AGE_SECONDS", defaults.max_age_seconds, 60),
        host_rate_per_second=number("INGEST_HOST_RATE", defaults.host_rate_per_second, 0.01),
        host_burst=number("INGEST_HOST_BURST", defaults.host_burst, 1),
        retention_days=int(number("HISTORY_RETENTION_DAYS", defaults.retention_days, 1)),
    )
