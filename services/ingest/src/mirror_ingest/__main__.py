"""python -m mirror_ingest: run the ingest service until SIGTERM."""

import sys

from mirror_ingest.app import create_app
from mirror_runtime.entry import run_from_env

if __name__ == "__main__":
    sys.exit(run_from_env("ingest", "INGEST", create_app))
