"""python -m mirror_alerts: run the alerts service until SIGTERM."""

import os
import sys

import structlog

from mirror_alerts.config import from_env
from mirror_alerts.service import main
from mirror_runtime.environment import ConfigError
from mirror_runtime.logs import configure_logging

if __name__ == "__main__":
    try:
        config = from_env(os.environ)
    except ConfigError as exc:
        print(f"alerts: {exc}", file=sys.stderr)  # noqa: T201 - logging is not configured yet
        sys.exit(2)
    configure_logging(config.service.log_format)
    structlog.contextvars.bind_contextvars(service="alerts")
    sys.exit(main(config))
