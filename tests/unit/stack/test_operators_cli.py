"""`mirror-stage user` and `token` without a stack: they say what to do, not a traceback."""

from pathlib import Path

import pytest

from mirror_stage.cli import main


@pytest.mark.parametrize("argv", [["user", "list"], ["token", "add", "ci"]])
def test_without_a_running_stack_they_say_how_to_get_one(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == 1
    assert "run mirror-stage up first" in capsys.readouterr().err


def test_a_stale_database_address_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "database-url").write_text("postgresql://postgres:x@127.0.0.1:1/mirror_stage\n")
    assert main(["user", "list", "--data-dir", str(tmp_path)]) == 1
    assert "is mirror-stage up running?" in capsys.readouterr().err
