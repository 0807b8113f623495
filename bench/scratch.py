"""A bench's temporary directory, once the run is over: removed, or kept and named with
--keep. Not named bench_*.py: `make bench` runs every bench_*.py.
"""

import shutil
from pathlib import Path


def leave_scratch(base: Path, *, keep: bool) -> None:
    """Remove `base`, or say where it was kept (its logs and data, to read after the run)."""
    if keep:
        print(f"logs and data kept in {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
