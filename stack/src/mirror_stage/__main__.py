"""python -m mirror_stage: the same as the `mirror-stage` command."""

import sys

from mirror_stage.cli import main

if __name__ == "__main__":
    sys.exit(main())
