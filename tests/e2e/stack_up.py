"""`mirror-stage up` run as a user runs it, for the e2e tests: start it on free ports, read
what it prints, find its processes, and read its data dir."""

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.js.errors
import psutil
import pytest

from loopback_ports import free_port
from mirror_schema import streams, subjects

SERVICES = ("twin", "ingest", "alerts", "commands")


@dataclass
class RunningStack:
    """A `mirror-stage up` child process and what it printed."""

    process: asyncio.subprocess.Process
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def port(self, service: str) -> int:
        return int(self.env[f"MIRROR_STAGE_{service.upper()}_PORT"])

    @property
    def postgres_port(self) -> int:
        for line in self.lines:
            match = re.search(r"postgres\s+postgresql://\S+:(\d+)", line)
            if match:
                return int(match.group(1))
        raise AssertionError(f"no postgres address printed in {self.lines}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


def stack_environment() -> dict[str, str]:
    """Our environment with free ports for every part, so a running stack is not disturbed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_STAGE_")}
    env["MIRROR_STAGE_NATS_URL"] = f"nats://127.0.0.1:{free_port()}"
    for service in SERVICES:
        env[f"MIRROR_STAGE_{service.upper()}_PORT"] = str(free_port())
    return env


async def start_up(
    data_dir: Path, env: dict[str, str], *flags: str, stdout: int, stderr: int
) -> asyncio.subprocess.Process:
    """Start `python -m mirror_stage up --data-dir DIR FLAGS...` with `env`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        "up",
        "--data-dir",
        str(data_dir),
        *flags,
        env=env,
        stdout=stdout,
        stderr=stderr,
    )


@asynccontextmanager
async def mirror_stage_up(
    data_dir: Path,
    *flags: str,
    stop_signal: signal.Signals = signal.SIGTERM,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[RunningStack]:
    """Run `mirror-stage up` until it prints the HUD's URL; stop it with `stop_signal` after."""
    env = stack_environment() | (extra_env or {})
    # The launcher's own log (its errors), beside the data dir, for a failure's message.
    errors = data_dir.parent / f"{data_dir.name}-launcher.log"
    with errors.open("ab") as stderr:
        process = await start_up(
            data_dir, env, *flags, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
    stack = RunningStack(process, env)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(120):
            while not any(line.startswith("HUD: ") for line in stack.lines):
                line = (await process.stdout.readline()).decode()
                if not line:
                    tail = errors.read_text(errors="replace").splitlines()[-15:]
                    pytest.fail(
                        f"mirror-stage up ended before it was healthy: {stack.lines}; "
                        f"its log ends: {tail}"
                    )
                stack.lines.append(line.rstrip("\n"))
        yield stack
    finally:
        if process.returncode is None:
            process.send_signal(stop_signal)
            async with asyncio.timeout(60):
                rest = await process.stdout.read()
                await process.wait()
            stack.lines += rest.decode().splitlines()


async def health(port: int) -> int:
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            return (await client.get(f"http://127.0.0.1:{port}/api/health")).status_code
        except httpx.HTTPError:
            return 0


def admin(data_dir: Path) -> str:
    """The credentials file of the stack's admin identity (its NATS refuses anonymous clients)."""
    return str(data_dir / "identities" / "admin.nk")


async def last_sample(stack: RunningStack, data_dir: Path, host: str) -> dict[str, Any] | None:
    """The latest sample of `host` in METRICS, as the admin reads it; None without one."""
    nc = await nats.connect(stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(data_dir))
    try:
        found = await nc.jetstream().get_last_msg(streams.METRICS.name, subjects.metrics_raw(host))
    except nats.js.errors.NotFoundError:
        return None
    finally:
        await nc.close()
    sample: dict[str, Any] = json.loads(found.data or b"{}")
    return sample


def bus_violations(data_dir: Path) -> list[str]:
    """The permission violations nats-server logged: none while every part keeps to its own."""
    log = (data_dir / "logs" / "nats.log").read_text()
    return [line for line in log.splitlines() if "Violation" in line]


def service_process(stack: RunningStack, service: str) -> psutil.Process:
    for child in stack.descendants():
        try:
            if f"mirror_{service}" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no mirror_{service} process under the launcher")
