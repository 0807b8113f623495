"""run_from_env(): the whole of a service's `__main__`: config, logging, run, exit code."""

import os
import sys

import structlog

from mirror_runtime.config import service_config_from_env
from mirror_runtime.environment import ConfigError
from mirror_runtime.logs import configure_logging
from mirror_runtime.serve import AppFactory, Starter, main


def run_from_env(name: str, part: str, create_app: AppFactory, start: Starter | None = None) -> int:
    """Read the environment once, configure logging and run the service; return the exit code.

    A bad environment ends with one message naming the variable and exit code 2.
    """
    try:
        config = service_config_from_env(name, part, os.environ)
    except ConfigError as exc:
        print(f"{name}: {exc}", file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    configure_logging(config.log_format)
    structlog.contextvars.bind_contextvars(service=name)
    return main(config, create_app, start)
