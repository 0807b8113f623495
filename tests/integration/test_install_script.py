"""deploy/systemd/install.sh into a throwaway root: the user, the state directory, the agent's
virtualenv, the config and credentials with their owners and modes, the unit enabled (paths,
not systemd itself); a second run keeps the config; bad arguments are refused by name."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "systemd" / "install.sh"
EXAMPLE = ROOT / "deploy" / "systemd" / "agent.toml.example"


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed to build the agent's wheels (make install)"
    return found


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The agent's wheels, as an operator would copy them to a host."""
    out = tmp_path_factory.mktemp("wheels")
    for package in ("mirror-schema", "mirror-agent"):
        subprocess.run(
            [uv(), "build", "--wheel", "--package", package, "-o", str(out), "-q"],
            cwd=ROOT,
            check=True,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
    return sorted(out.glob("*.whl"))


def install(root: Path, wheels: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    packages = [arg for wheel in wheels for arg in ("--package", str(wheel))]
    return subprocess.run(
        [
            "bash",
            str(SCRIPT),
            "--root",
            str(root),
            "--python",
            sys.executable,
            *packages,
            "--pip-args",
            "--no-deps",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def passwd_entry(root: Path, name: str) -> list[str]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":")
    raise AssertionError(f"no {name} in {root}/etc/passwd")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_host_gets_user_state_agent_config_credentials_and_an_enabled_unit(
    tmp_path: Path, wheels: list[Path]
) -> None:
    root = tmp_path / "root"
    credentials = tmp_path / "agent.nk"
    credentials.write_text("SUAEXAMPLESEED\n")
    done = install(root, wheels, "--config", str(EXAMPLE), "--credentials", str(credentials))
    assert done.returncode == 0, done.stdout + done.stderr
    _, _, uid, gid, _, home, shell = passwd_entry(root, "mirror-agent")
    assert (home, shell) == ("/var/lib/mirror-agent", "/usr/sbin/nologin")
    state = root / "var" / "lib" / "mirror-agent"
    assert (state.stat().st_uid, state.stat().st_gid) == (int(uid), int(gid))
    assert mode(state) == 0o700
    agent = root / "opt" / "mirror-agent" / "bin" / "mirror-agent"
    assert os.access(agent, os.X_OK)
    unit = root / "etc" / "systemd" / "system" / "mirror-agent.service"
    assert "ExecStart=/opt/mirror-agent/bin/mirror-agent" in unit.read_text()
    assert "User=mirror-agent" in unit.read_text()
    wanted = root / "etc" / "systemd" / "system" / "multi-user.target.wants" / unit.name
    assert wanted.is_symlink()
    assert os.readlink(wanted) == "/etc/systemd/system/mirror-agent.service"
    config = root / "etc" / "mirror-stage" / "agent.toml"
    assert config.read_text() == EXAMPLE.read_text()
    assert (mode(config), config.stat().st_uid, config.stat().st_gid) == (0o640, 0, int(gid))
    secret = root / "etc" / "mirror-stage" / "agent.creds"
    assert (mode(secret), secret.stat().st_uid) == (0o600, 0)
    dropin = unit.parent / "mirror-agent.service.d" / "credentials.conf"
    assert "LoadCredential=nats.creds:/etc/mirror-stage/agent.creds" in dropin.read_text()
    assert "set credentials_file" in done.stdout  # the example does not point at it yet

    config.write_text(config.read_text() + "\n# edited on the host\n")
    (state / "buffer").mkdir()
    again = install(root, wheels, "--config", str(EXAMPLE))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "kept the existing agent.toml" in again.stdout
    assert config.read_text().endswith("# edited on the host\n")
    assert (state / "buffer").is_dir()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "--config FILE is required"),
        (("--config", "/nonexistent.toml"), "/nonexistent.toml: no such file"),
        (("--config", str(EXAMPLE), "--colour", "red"), "unknown argument '--colour'"),
    ],
)
def test_a_bad_argument_is_refused_by_name(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    refused = install(tmp_path / "root", [], *arguments)
    assert refused.returncode == 2
    assert message in refused.stderr
    assert not (tmp_path / "root" / "etc" / "passwd").exists()  # nothing was done
