"""deploy/compose.yaml under podman-compose, as the compose test drives it: a project of its
own (unique name, free loopback ports, this run's images), its commands, and what is left of
it after."""

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from compose_images import DEPLOY, Images, built_images
from podman import podman_environment, run

from loopback_ports import free_port
from waiting import wait_until

COMPOSE_FILE = DEPLOY / "compose.yaml"
SERVICES = ("twin", "ingest", "alerts", "commands")
PUBLISHED = ("nats", *SERVICES)
# podman-compose's output around a command's own: its version, each podman command, exit code.
CHATTER = re.compile(
    r"^(using podman version|podman(-composer)? version|\['podman'|podman |exit code)"
)
COMMAND_TIMEOUT_SECONDS = 300


@dataclass
class ComposeProject:
    """One `podman-compose -p NAME -f deploy/compose.yaml` project and its published ports."""

    name: str
    env: dict[str, str]
    ports: dict[str, int]

    async def compose(self, *args: str, seconds: float = COMMAND_TIMEOUT_SECONDS) -> str:
        """Run `podman-compose ARGS` for this project; its output (the test fails when it
        fails), carriage returns (from its `run`'s terminal) taken out."""
        return await self.podman(
            "podman-compose", "-p", self.name, "-f", str(COMPOSE_FILE), *args, seconds=seconds
        )

    async def podman(self, *command: str, seconds: float = COMMAND_TIMEOUT_SECONDS) -> str:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(seconds):
                out, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"{' '.join(command)} still ran after {seconds} s") from None
        text = out.decode(errors="replace").replace("\r", "")
        assert process.returncode == 0, f"{' '.join(command)} exited {process.returncode}:\n{text}"
        return text

    async def run_once(self, *service_and_command: str) -> str:
        """`podman-compose run --rm --no-deps [OPTIONS] SERVICE COMMAND` (as the docs run
        one-off commands; --no-deps, or podman-compose 1.0.3 builds and starts every service
        first): the command's own output, without podman-compose's."""
        out = await self.compose("run", "--rm", "--no-deps", *service_and_command)
        return "\n".join(line for line in out.splitlines() if not CHATTER.match(line))

    def container(self, service: str) -> str:
        return f"{self.name}_{service}_1"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    async def inspect(self, service: str) -> dict[str, Any]:
        (state,) = json.loads(await self.podman("podman", "inspect", self.container(service)))
        assert isinstance(state, dict)
        return state

    async def wait_done(self, service: str, seconds: float = 180) -> None:
        """Until the one-off `service` (init, migrate) has exited; it must have succeeded."""
        state: dict[str, Any] = {}

        async def exited() -> bool:
            state.update((await self.inspect(service))["State"])
            return state["Status"] == "exited"

        await wait_until(exited, timeout=seconds, what=f"{service} to finish", interval=0.5)
        assert state["ExitCode"] == 0, await self.logs(service)

    async def logs(self, service: str) -> str:
        return await self.podman("podman", "logs", self.container(service))

    async def wait_healthy(self, seconds: float = 240) -> None:
        """Until every service answers its /api/health on its published port (podman runs no
        health check by itself without systemd: the test asks as a user would)."""
        async with httpx.AsyncClient(timeout=3) as http:

            async def all_healthy() -> bool:
                for service in SERVICES:
                    try:
                        answer = await http.get(f"{self.url(service)}/api/health")
                    except httpx.HTTPError:
                        return False
                    if answer.status_code != 200:
                        return False
                return True

            await wait_until(all_healthy, timeout=seconds, what="every service healthy", interval=1)

    async def leftovers(self) -> dict[str, list[str]]:
        """What podman still holds of this project: containers, volumes, networks, pods."""
        label = f"label=io.podman.compose.project={self.name}"
        found = {
            "containers": await self.podman(
                "podman", "ps", "-a", "--filter", label, "--format", "{{.Names}}"
            ),
            "volumes": await self.podman("podman", "volume", "ls", "--format", "{{.Name}}"),
            "networks": await self.podman("podman", "network", "ls", "--format", "{{.Name}}"),
            "pods": await self.podman("podman", "pod", "ls", "--format", "{{.Name}}"),
        }
        return {
            kind: [line for line in text.split() if line.startswith(self.name)]
            for kind, text in found.items()
        }


def cleanup(name: str, env: dict[str, str]) -> None:
    """Remove whatever of project `name` is left, whatever state a failed test left it in."""
    label = f"label=io.podman.compose.project={name}"
    listed = run(["podman", "ps", "-aq", "--filter", label], env, check=False).stdout.split()
    if listed:
        run(["podman", "rm", "--force", "--time", "5", *listed], env, check=False)
    for kind in ("volume", "network"):
        names = run(["podman", kind, "ls", "--format", "{{.Name}}"], env, check=False).stdout
        ours = [item for item in names.split() if item.startswith(f"{name}_")]
        if ours:
            run(["podman", kind, "rm", "--force", *ours], env, check=False)


@contextmanager
def compose_project(tmp_path: Path) -> Iterator[ComposeProject]:
    """A project on this run's images and free loopback ports; everything of it removed after
    (the images too, the cached base images kept)."""
    env = podman_environment(tmp_path)
    run_id = uuid.uuid4().hex[:10]
    name = f"mirror-e2e-{run_id}"
    with built_images(run_id, env) as images:
        ports = {service: free_port() for service in PUBLISHED}
        env |= compose_variables(images, ports)
        try:
            yield ComposeProject(name, env, ports)
        finally:
            cleanup(name, env)


def compose_variables(images: Images, ports: dict[str, int]) -> dict[str, str]:
    """deploy/compose.yaml's variables: which images, which host ports, on loopback only."""
    return {
        "IMAGE": images.stack,
        "NATS_IMAGE": images.nats,
        "POSTGRES_IMAGE": images.postgres,
        "MIRROR_STAGE_PUBLISH_ADDRESS": "127.0.0.1",
        **{
            f"MIRROR_STAGE_{service.upper()}_HOST_PORT": str(port)
            for service, port in ports.items()
        },
    }
