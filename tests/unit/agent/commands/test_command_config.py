"""The `[commands]` table of the agent's config: defaults, errors naming the key, the journal."""

from pathlib import Path

import pytest

from mirror_agent.commands.settings import CommandSettings, journal_path, run_as_error
from mirror_agent.config import AgentConfigError, load_config


def test_an_absent_table_means_the_default_allowlist(tmp_path: Path) -> None:
    """No `[commands]` table: allowlist mode with the defaults."""
    path = tmp_path / "agent.toml"
    path.write_text("")
    assert load_config(path).commands == CommandSettings()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[commands]\nmode = "all"', "$.commands.mode"),
        ("[commands]\nmax_concurrent = 0", "$.commands.max_concurrent"),
        ("[commands]\nallow_shel = true", "allow_shel"),
        ('[commands]\nallowlist = ["echo \'oops"]', "allowlist entry"),
        ('[commands]\nallowlist = ["  "]', "is empty"),
        ('[commands]\nrun_as = "no-such-user-here"', "run_as = 'no-such-user-here'"),
        ('[commands]\nsigning_public_key = "not base64!"', "signing_public_key: 'not base64!'"),
        ('[commands]\nsigning_public_key = "AAAA"', "signing_public_key: 'AAAA' is 3 bytes"),
    ],
)
def test_a_bad_commands_table_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    """A bad value, an unknown key, an unsplittable entry or an unknown user is refused at
    start-up with the key in the message."""
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(AgentConfigError) as caught:
        load_config(path)
    assert named in str(caught.value)


def test_mode_off_skips_the_checks(tmp_path: Path) -> None:
    """With commands off, nothing about running them can stop the agent from starting."""
    path = tmp_path / "agent.toml"
    path.write_text('[commands]\nmode = "off"\nrun_as = "no-such-user-here"\n')
    assert load_config(path).commands.mode == "off"


def test_run_as_the_agent_s_own_user_is_always_allowed() -> None:
    """run_as naming the user the agent already runs as needs no root."""
    import getpass

    assert run_as_error(getpass.getuser()) is None


def test_the_journal_lives_in_state_dir_else_beside_the_buffer(tmp_path: Path) -> None:
    """state_dir wins; without it the journal sits in the directory holding buffer_dir
    (the unit's StateDirectory); with neither there is no journal (and no commands)."""
    with_state = CommandSettings(state_dir=str(tmp_path / "state"))
    journal = tmp_path / "state" / "commands-web-01.journal"
    assert journal_path(with_state, None, "web-01") == journal
    buffer = str(tmp_path / "lib" / "buffer")
    beside = tmp_path / "lib" / "commands-web-01.journal"
    assert journal_path(CommandSettings(), buffer, "web-01") == beside
    assert journal_path(CommandSettings(), None, "web-01") is None
