"""python -m mirror_twin: run the twin service until SIGTERM."""

import sys

from mirror_runtime.entry import run_from_env
from mirror_twin.app import create_app

if __name__ == "__main__":
    sys.exit(run_from_env("twin", "TWIN", create_app))
