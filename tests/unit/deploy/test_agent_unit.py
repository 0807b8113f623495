"""deploy/systemd: the agent's unit is valid, hardened, and agrees with the example config."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from mirror_agent.config import load_config

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "systemd"
UNIT = DEPLOY / "mirror-agent.service"


def unit_settings() -> dict[str, str]:
    settings = {}
    for line in UNIT.read_text().splitlines():
        if re.match(r"^[A-Za-z]+=", line):
            key, value = line.split("=", 1)
            settings[key] = value
    return settings


def installed_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's mirror-agent, as an install makes it."""
    agent = Path(sys.executable).parent / "mirror-agent"
    copy = tmp_path / "mirror-agent.service"
    copy.write_text(UNIT.read_text().replace("/opt/mirror-agent/bin/mirror-agent", str(agent)))
    return copy


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is needed to check the unit (Debian package: systemd)"
    return found


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """systemd-analyze verify finds no error in the unit."""
    result = subprocess.run(
        [systemd_analyze(), "verify", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_unit_is_hardened(tmp_path: Path) -> None:
    """systemd's own exposure score stays at 3.0 or below ("OK")."""
    result = subprocess.run(
        [
            systemd_analyze(),
            "security",
            "--offline=yes",
            "--threshold=30",
            str(installed_copy(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]


def test_the_unit_runs_its_own_user_restarts_and_logs_to_the_journal() -> None:
    """The settings the issue names: own user, restart on failure, state dir, journal."""
    settings = unit_settings()
    assert settings["User"] == settings["Group"] == "mirror-agent"
    # The user and its state directory are declared for systemd-sysusers and -tmpfiles.
    sysusers = (DEPLOY / "mirror-agent.sysusers").read_text()
    assert re.search(
        r"^u mirror-agent - .* /var/lib/mirror-agent /usr/sbin/nologin$", sysusers, re.M
    )
    tmpfiles = (DEPLOY / "mirror-agent.tmpfiles").read_text()
    state = f"/var/lib/{settings['StateDirectory']}"
    assert re.search(rf"^d {state} 0700 mirror-agent mirror-agent -$", tmpfiles, re.M)
    assert settings["Restart"] == "on-failure"
    assert settings["StateDirectory"] == "mirror-agent"
    assert settings["StandardOutput"] == "journal"
    assert settings["ExecStart"].endswith("--config /etc/mirror-stage/agent.toml")


def test_the_example_config_is_valid_and_buffers_in_the_state_directory(tmp_path: Path) -> None:
    """The example config loads, and its buffer lives in the unit's StateDirectory."""
    config = load_config(DEPLOY / "agent.toml.example")
    state = Path("/var/lib") / unit_settings()["StateDirectory"]
    assert config.buffer_dir is not None
    assert Path(config.buffer_dir).is_relative_to(state)
