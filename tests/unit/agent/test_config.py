"""The agent's TOML config: defaults, and errors that name the key."""

from pathlib import Path

import pytest

from mirror_agent.__main__ import main
from mirror_agent.config import AgentConfigError, load_config


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    """Every key has a default."""
    path = tmp_path / "agent.toml"
    path.write_text("")
    config = load_config(path)
    assert config.interval_seconds == 5.0
    assert config.nats_url == "nats://127.0.0.1:4222"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("interval_seconds = 0.1", "$.interval_seconds"),
        ('host_id = "Not Valid"', "$.host_id"),
        ("colour = 1", "colour"),
        ("interval_seconds = [", "not valid TOML"),
    ],
)
def test_a_bad_config_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    """A bad value, an unknown key or broken TOML is refused with the key in the message."""
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(AgentConfigError) as caught:
        load_config(path)
    assert named in str(caught.value)


def test_a_bad_config_exits_with_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """mirror-agent ends with one message and exit code 2 on a bad config."""
    path = tmp_path / "agent.toml"
    path.write_text("interval_seconds = 0")
    assert main(["--config", str(path)]) == 2
    assert "interval_seconds" in capsys.readouterr().err


def test_a_join_token_and_an_identity_together_are_refused(tmp_path: Path) -> None:
    seed = tmp_path / "agent.nk"
    seed.write_text("SU" + "A" * 56)
    path = tmp_path / "agent.toml"
    path.write_text(f'credentials_file = "{seed}"\njoin_token = "MSJ1.x"\n')
    with pytest.raises(AgentConfigError, match=r"`credentials_file`.*or `join_token`.*not both"):
        load_config(path)


def test_a_join_token_that_is_none_ends_the_agent_with_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(f'identity_dir = "{tmp_path / "identity"}"\n')
    assert main(["--config", str(path), "--join", "not-a-token"]) == 2
    assert "join token: not a join token" in capsys.readouterr().err
