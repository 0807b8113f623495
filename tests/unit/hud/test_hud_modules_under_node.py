"""The HUD's pure modules' own tests (tests/unit/hud/*.test.mjs) run by Node's test runner, so
that pytest, and with it `make test` and `make test-unit`, runs them too."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def test_every_node_test_of_the_hud_passes() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("no node on PATH: the HUD's unit tests need Node.js 20 (the nodejs package)")
    files = sorted(HERE.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {HERE}"
    run = subprocess.run(
        [node, "--test", "--test-reporter=tap", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", run.stdout, re.MULTILINE))
    assert int(counts.get("tests", 0)) > 0, report
    assert counts["pass"] == counts["tests"], report
