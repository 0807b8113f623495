"""python -m mirror_twin: run the twin service until SIGTERM."""

import os
import sys

import structlog

from mirror_runtime.environment import ConfigError
from mirror_runtime.logs import configure_logging
from mirror_twin.config import from_env
from mirror_twin.service import main

if __name__ == "__main__":
    try:
        config = from_env(os.environ)
    except ConfigError as exc:
        print(f"twin: {exc}", file=sys.stderr)  # noqa: T201 - logging is not configured yet
        sys.exit(2)
    configure_logging(config.service.log_format)
    structlog.contextvars.bind_contextvars(service="twin")
    sys.exit(main(config))
