"""`mirror-stage user` and `token` without a stack: they say what to do, not a traceback.

(Called as functions: `main()` would configure logging for the whole test process.)
"""

from pathlib import Path

import pytest

from mirror_stage.operators import run_token_command, run_user_command
from mirror_stage.stack_layout import stack_layout


def test_without_a_running_stack_they_say_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = stack_layout({}, data_dir=tmp_path)
    assert run_user_command(layout, "list", None, "viewer") == 1
    assert "run mirror-stage up first" in capsys.readouterr().err
    assert run_token_command(layout, "add", "ci", "operator") == 1
    assert "run mirror-stage up first" in capsys.readouterr().err


def test_a_stale_database_address_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "database-url").write_text("postgresql://postgres:x@127.0.0.1:1/mirror_stage\n")
    layout = stack_layout({}, data_dir=tmp_path)
    assert run_user_command(layout, "list", None, "viewer") == 1
    assert "is mirror-stage up running?" in capsys.readouterr().err
