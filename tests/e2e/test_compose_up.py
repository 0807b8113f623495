"""deploy/compose.yaml run for real under podman-compose, and used as a user does from the host:
the HUD on the published port in Chromium, logged in with the first admin's one-time password
from the migrate step's log; an agent on this host enrolled against the compose NATS, its host
on the page, `uptime` run on it through the commands API; a crashed service container brought
back by its restart policy; `down` and `up` on the same volumes keeping the logins and the
commands; then `down -v` leaving nothing of the project.

Every image is built here (no registry is reachable): see compose_images.py. The first run on
a machine builds two Debian base images with debootstrap (minutes); later runs reuse them.
"""

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from compose_stack import SERVICES, ComposeProject, compose_project
from logins import replace_one_time_password
from playwright.async_api import Browser, Page, async_playwright

from browser import CHROMIUM_FLAGS, chromium_path, with_test_hook
from waiting import wait_until

# The first run on a machine builds the base images (minutes), every run its own images.
pytestmark = pytest.mark.timeout(1800)

HOST = "compose-host"
ONE_TIME = re.compile(r"^first admin: user 'admin', one-time password (\S+)$", re.MULTILINE)
SEED = re.compile(r"^SU[A-Z2-7]{56}$", re.MULTILINE)
OWN_PASSWORD = "admin's own long password"
# podman-compose 1.0.3 splits `run -e NAME=VALUE` at every "=": the passfile goes apart.
OWNER = (
    "MIRROR_STAGE_DB_URL=postgresql://mirror_owner@postgres:5432/mirror",
    "PGPASSFILE=/run/mirror/database/mirror_owner.pgpass",
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ComposeProject]:
    with compose_project(tmp_path) as project:
        yield project


class Agent:
    """`mirror-agent --config FILE` on this host, from the project's venv, as systemd runs it."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mirror_agent", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
async def agents() -> AsyncIterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.stop()


async def enroll(project: ComposeProject, tmp_path: Path) -> tuple[str, Path]:
    """Enroll HOST as the docs say, in the init service; its NATS URL and credentials file."""
    advertised = f"nats://127.0.0.1:{project.ports['nats']}"
    said = await project.run_once(
        "init",
        *("mirror-stage", "agent", "enroll", HOST, "--data-dir", "/state", "--export", "/export"),
        *("--nats-url", advertised),
    )
    url = re.search(r'^  nats_url = "(.+)"$', said, re.MULTILINE)
    assert url is not None, said
    assert url.group(1) == advertised  # an address the agent's host can reach, not the stack's
    assert "not running" not in said, said
    path = re.search(r"its credentials file is (\S+)", said)
    assert path is not None, said
    seed = SEED.search(await project.run_once("init", "cat", path.group(1)))
    assert seed is not None
    credentials = tmp_path / "agent.nk"
    credentials.write_text(seed.group(0) + "\n")
    credentials.chmod(0o600)
    # A new agent's account is wired at the second reload (docs/security.md): each is
    # waited for in nats-server's log before the next (signals sent at once would merge).
    nats_container = project.container("nats")

    async def reloads() -> int:
        log = await project.podman("podman", "logs", nats_container)
        return log.count("Reloaded server configuration")

    for _ in range(2):
        before = await reloads()
        await project.podman("podman", "kill", "--signal", "HUP", nats_container)

        async def reloaded(before: int = before) -> bool:
            return await reloads() > before

        await wait_until(reloaded, timeout=30, what="nats-server's reload in its log")
    return url.group(1), credentials


def agent_config(tmp_path: Path, nats_url: str, credentials: Path, signing_key: str) -> Path:
    state = tmp_path / "agent-state"
    config = tmp_path / "agent.toml"
    config.write_text(
        f'nats_url = "{nats_url}"\nhost_id = "{HOST}"\ncredentials_file = "{credentials}"\n'
        f'interval_seconds = 1\nbuffer_dir = "{state / "buffer"}"\n'
        f'[commands]\nstate_dir = "{state}"\nsigning_public_key = "{signing_key}"\n'
    )
    return config


async def crash_and_recover(project: ComposeProject, service: str) -> None:
    """SIGKILL the container's process from the host, as a crash would, and wait for its
    restart policy to bring it back healthy. (`podman kill` would not do: podman takes it for
    a user's stop, which no restart policy undoes.)"""
    before = await project.inspect(service)
    os.kill(before["State"]["Pid"], signal.SIGKILL)

    async def restarted() -> bool:
        after = await project.inspect(service)
        return bool(after["RestartCount"] > before["RestartCount"])

    await wait_until(restarted, timeout=60, what=f"{service} restarted", interval=0.5)
    await project.wait_healthy(seconds=120)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """The system's Chromium (make browser installs it), as the HUD's tests launch it."""
    path = chromium_path()
    assert path is not None, "no Chromium on PATH: make browser installs the distribution's"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def hud_login(browser: Browser, url: str, one_time: str) -> Page:
    """The HUD at `url` in a browser, logged in as the first admin with the one-time password,
    replaced there by the admin's own: the page once it is live."""
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(30_000)
    await page.goto(with_test_hook(f"{url}/"))
    assert await page.title() == "MIRROR STAGE"
    await page.fill("#login-user", "admin")
    await page.fill("#login-password", one_time)
    await page.click("#login-submit")
    await page.locator("#password-form").wait_for()
    await page.fill("#password-new", OWN_PASSWORD)
    await page.fill("#password-repeat", OWN_PASSWORD)
    await page.click("#password-submit")
    await page.wait_for_function(
        "() => window.mirrorStage && window.mirrorStage.stats().connection === 'live'"
    )
    return page


async def test_compose_up_serves_the_hud_runs_a_command_recovers_and_keeps_its_state(
    project: ComposeProject, tmp_path: Path, agents: list[Agent], browser: Browser
) -> None:
    await project.compose("up", "-d")
    await project.wait_healthy()
    await project.wait_done("migrate")  # the services may answer before it made the admin
    # The compose file's own health checks pass too, run by podman as an engine runs them
    # (nats's needs the official image's wget, which the test's image has not).
    for service in ("postgres", *SERVICES):
        await project.podman("podman", "healthcheck", "run", project.container(service))
    migrate_log = await project.logs("migrate")
    one_time = ONE_TIME.search(migrate_log)
    assert one_time is not None, migrate_log
    twin = project.url("twin")
    page = await hud_login(browser, twin, one_time.group(1))

    async with httpx.AsyncClient(timeout=20) as http:
        login = await http.post(
            f"{twin}/api/auth/login", json={"user": "admin", "password": OWN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["csrf"]
        commands = project.url("commands")
        key = await http.get(f"{commands}/api/commands/signing-key")
        assert key.status_code == 200, key.text

        nats_url, credentials = await enroll(project, tmp_path)
        agent = Agent(agent_config(tmp_path, nats_url, credentials, key.json()["public_key"]))
        agents.append(agent)
        agent.start()

        async def sample_seen() -> bool:
            # The twin knows a host from its samples alone.
            answer = await http.get(f"{twin}/api/twin/hosts/{HOST}")
            return answer.status_code == 200

        await wait_until(
            sample_seen, timeout=90, what=f"a sample of {HOST} in the twin (see {agent.log})"
        )
        await page.wait_for_function("() => window.mirrorStage.stats().hosts === 1")
        await page.context.close()

        sent = await http.post(
            f"{commands}/api/commands", json={"hostname": HOST, "command": "uptime"}
        )
        assert sent.status_code == 201, sent.text
        command_id = sent.json()["commands"][0]["id"]
        record: dict[str, Any] = {}

        async def succeeded() -> bool:
            record.update((await http.get(f"{commands}/api/commands/{command_id}")).json())
            return record["status"] in ("succeeded", "failed")

        await wait_until(
            succeeded, timeout=60, what=f"uptime to finish on the agent (see {agent.log})"
        )
        assert record["status"] == "succeeded", record
        assert "load average" in record["stdout"], record

    await crash_and_recover(project, "ingest")

    # Down and up on the same volumes: the admin's own password still logs in; no new one.
    await project.compose("down")
    await project.compose("up", "-d")
    await project.wait_healthy()
    await project.wait_done("migrate")
    migrate_log = await project.logs("migrate")
    assert ONE_TIME.search(migrate_log) is None, migrate_log
    assert "logins: 1 user(s)" in migrate_log, migrate_log
    async with httpx.AsyncClient(timeout=20) as http:
        login = await http.post(
            f"{twin}/api/auth/login", json={"user": "admin", "password": OWN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        kept = await http.get(f"{project.url('commands')}/api/commands/{command_id}")
        assert kept.status_code == 200, kept.text
        assert kept.json()["status"] == "succeeded"
        # Another operator, added as the docs say: in the migrate service, as the owner.
        said = await project.run_once(
            *("-e", OWNER[0], "-e", OWNER[1]),
            "migrate",
            *("mirror-stage", "user", "add", "alice", "--role", "operator"),
        )
        added = re.search(
            r"^added alice \(operator\); one-time password \(shown once\): (\S+)$", said, re.M
        )
        assert added is not None, said
        await replace_one_time_password(http, twin, "alice", added.group(1))
    agent.stop()

    await project.compose("down", "-v")
    left = await project.leftovers()
    # podman-compose 1.0.3's `down` never removes the project's network (docker compose's
    # does): the docs tell podman users to remove it, as here.
    assert left["networks"] == [f"{project.name}_default"], left
    await project.podman("podman", "network", "rm", f"{project.name}_default")
    assert await project.leftovers() == {
        "containers": [],
        "volumes": [],
        "networks": [],
        "pods": [],
    }
