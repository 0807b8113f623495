"""IngestConfig: the ingest's limits and the history's settings, declared once and read once
from the environment."""

from collections.abc import Mapping

import msgspec

from mirror_runtime import parsers
from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import stage_environment
from mirror_runtime.setting import Setting, SettingGroup
from mirror_schema import streams

MAX_BODY_BYTES = Setting(
    variable="MIRROR_STAGE_INGEST_MAX_BODY_BYTES",
    default=4 * 2**20,
    parser=parsers.number_as_int(minimum=1024),
    meaning="largest `POST /api/metrics/batch` body",
)
MAX_BATCH = Setting(
    variable="MIRROR_STAGE_INGEST_MAX_BATCH",
    default=1000,
    parser=parsers.number_as_int(minimum=1),
    meaning="most samples in one batch",
)
MAX_FUTURE_SECONDS = Setting(
    variable="MIRROR_STAGE_INGEST_MAX_FUTURE_SECONDS",
    default=300.0,
    parser=parsers.number(minimum=0),
    meaning="how far ahead of the ingest's clock a timestamp may be",
)
MAX_AGE_SECONDS = Setting(
    variable="MIRROR_STAGE_INGEST_MAX_AGE_SECONDS",
    # Older than the METRICS stream keeps: it would be published only to be dropped.
    default=streams.METRICS.max_age_seconds,
    parser=parsers.number(minimum=60),
    meaning="oldest timestamp accepted (the METRICS stream's age)",
)
HOST_RATE = Setting(
    variable="MIRROR_STAGE_INGEST_HOST_RATE",
    default=10.0,
    parser=parsers.number(minimum=0.01),
    meaning="per-host token bucket: samples per second",
)
HOST_BURST = Setting(
    variable="MIRROR_STAGE_INGEST_HOST_BURST",
    default=200.0,
    parser=parsers.number(minimum=1),
    meaning="per-host token bucket: the burst",
)
TOKENS_FILE = Setting(
    variable="MIRROR_STAGE_INGEST_TOKENS_FILE",
    default=None,
    parser=parsers.text_or_none("a path"),
    meaning="the agents' bearer tokens for `POST /api/metrics/batch`, as digests with their "
    "hosts (written by `mirror-stage agent enroll`)",
    default_text="none (any client may post)",
)
HISTORY_RETENTION_DAYS = Setting(
    variable="MIRROR_STAGE_HISTORY_RETENTION_DAYS",
    default=30,
    parser=parsers.number_as_int(minimum=1),
    meaning="raw rows and 1-minute rollups kept; 1-hour rollups are kept 400 days",
)

SETTINGS = SettingGroup(
    title="The ingest",
    order=2,
    settings=(
        MAX_BODY_BYTES,
        MAX_BATCH,
        MAX_FUTURE_SECONDS,
        MAX_AGE_SECONDS,
        HOST_RATE,
        HOST_BURST,
        TOKENS_FILE,
        HISTORY_RETENTION_DAYS,
    ),
)


class IngestConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the ingest service reads at start-up."""

    service: ServiceConfig
    # POST /api/metrics/batch
    max_body_bytes: int = MAX_BODY_BYTES.default
    max_batch_samples: int = MAX_BATCH.default
    max_future_seconds: float = MAX_FUTURE_SECONDS.default
    max_age_seconds: float = MAX_AGE_SECONDS.default
    host_rate_per_second: float = HOST_RATE.default
    host_burst: float = HOST_BURST.default
    ack_timeout_seconds: float = 5.0
    # Per-agent bearer tokens (mirror_ingest.tokens); None: any client may post (loopback only).
    tokens_file: str | None = TOKENS_FILE.default
    # History
    retention_days: int = HISTORY_RETENTION_DAYS.default
    history_batch_size: int = 1000


def from_env(environ: Mapping[str, str]) -> IngestConfig:
    """Build the ingest's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    service = service_config_from_env("ingest", "INGEST", environ)
    env = stage_environment(environ)
    return IngestConfig(
        service=service,
        tokens_file=TOKENS_FILE.read(env),
        max_body_bytes=MAX_BODY_BYTES.read(env),
        max_batch_samples=MAX_BATCH.read(env),
        max_future_seconds=MAX_FUTURE_SECONDS.read(env),
        max_age_seconds=MAX_AGE_SECONDS.read(env),
        host_rate_per_second=HOST_RATE.read(env),
        host_burst=HOST_BURST.read(env),
        retention_days=HISTORY_RETENTION_DAYS.read(env),
    )
