"""python -m mirror_commands: run the commands service until SIGTERM."""

import sys

from mirror_commands.app import create_app
from mirror_runtime.entry import run_from_env

if __name__ == "__main__":
    sys.exit(run_from_env("commands", "COMMANDS", create_app))
