"""python -m mirror_alerts: run the alerts service until SIGTERM."""

import sys

from mirror_alerts.app import create_app
from mirror_runtime.entry import run_from_env

if __name__ == "__main__":
    sys.exit(run_from_env("alerts", "ALERTS", create_app))
