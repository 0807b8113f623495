"""Podman as the compose test drives it: this host's settings, and commands that must succeed.

Containers here run under runc (crun refuses the host's hybrid cgroups) with explicit limits
(a container may not raise its own): both set in a containers.conf of the test's, handed to
podman and podman-compose alike through CONTAINERS_CONF, so the host's configuration is left
alone.
"""

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
"""

# A build or a command that takes longer than this is stuck (a first debootstrap takes ~5 min).
COMMAND_TIMEOUT_SECONDS = 900


TOOLS = ("podman", "podman-compose", "debootstrap", "runc")


def podman_environment(directory: Path) -> dict[str, str]:
    """The environment of every podman and podman-compose command, its containers.conf in
    `directory`; fails saying what is missing when this machine cannot run them."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"the compose test needs {', '.join(missing)}: run make containers"
    # debootstrap makes the base images as root, and podman's bridge network is root's.
    assert os.geteuid() == 0, "the compose test runs podman and debootstrap as root"
    conf = directory / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def run(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: bytes | None = None,
    timeout: float = COMMAND_TIMEOUT_SECONDS,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `command`; when `check`, fail with its output if it fails."""
    result = subprocess.run(
        list(command),
        env=dict(env),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def image_exists(name: str, env: Mapping[str, str]) -> bool:
    return run(["podman", "image", "exists", name], env, check=False).returncode == 0
