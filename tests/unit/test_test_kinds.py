"""Every collected test carries exactly one kind marker, unit, integration or e2e, so that
`make test-unit`, `make test-integration` and `make test-e2e` together run the whole suite."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_KIND_OR_TWO = (
    "not (unit or integration or e2e)"
    " or (unit and integration) or (unit and e2e) or (integration and e2e)"
)
COLLECT = ("--collect-only", "-q", "-p", "no:cacheprovider", "-m", NO_KIND_OR_TWO)


def test_no_test_lacks_a_kind_or_has_two() -> None:
    """Collecting only the tests with no kind marker, or with two, finds none of them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", *COLLECT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Exit 5: nothing selected. Any test listed here is one without a kind, or with two.
    assert collected.returncode == 5, collected.stdout + collected.stderr
    deselected = re.search(r"no tests collected \((\d+) deselected\)", collected.stdout)
    assert deselected is not None, collected.stdout
    assert int(deselected.group(1)) > 1000  # the whole suite was collected, then left out
