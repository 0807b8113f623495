"""ServiceConfig: what every service reads from the environment at start-up."""

import sys
from collections.abc import Mapping

import msgspec

from mirror_runtime.environment import (
    DEFAULT_NATS_URL,
    PREFIX,
    read_file_path,
    read_log_format,
    read_port,
    stage_environment,
)


class ServiceConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings common to every service; a service's own Config may extend it."""

    name: str
    nats_url: str = DEFAULT_NATS_URL
    # The service's identity on the bus (an NKey seed or a .creds file); None: anonymous.
    nats_credentials_file: str | None = None
    db_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int
    log_format: str = "json"
    nats_connect_timeout_seconds: float = 30.0
    # Connections to PostgreSQL: background writers plus concurrent HTTP queries.
    db_pool_size: int = 8


def service_config_from_env(name: str, part: str, environ: Mapping[str, str]) -> ServiceConfig:
    """Build the config of service `name` (whose port variable is `part`) from `environ`."""
    env = stage_environment(environ)
    return ServiceConfig(
        name=name,
        nats_url=env.get(f"{PREFIX}NATS_URL", DEFAULT_NATS_URL),
        nats_credentials_file=read_file_path(env, f"{PREFIX}NATS_CREDENTIALS_FILE"),
        db_url=env.get(f"{PREFIX}DB_URL") or None,
        http_port=read_port(env, part),
        log_format=read_log_format(env, is_tty=sys.stderr.isatty()),
    )
