"""`mirror-stage db migrate`'s options checked before anything is set up."""

import pytest

from mirror_stage.cli import main


def test_a_negative_wait_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["db", "migrate", "--wait", "-5"])
    assert exited.value.code == 2
    assert "--wait -5: a number of seconds, 0 or more" in capsys.readouterr().err
