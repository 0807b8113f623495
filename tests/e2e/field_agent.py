"""An agent of the fault tests' own, as on a host of the fleet, and the commands they run on it.

Enrolled on the running stack with `mirror-stage agent enroll`, run with a config of its own
(samples every second, commands through a shell) and restarted by the test after a kill, as
its systemd unit would restart it. The stack's local agent takes only its default allowlist,
in which no command runs long enough to be caught in flight; this one runs `sleeper`, which
leaves a trace of each start and each end in a file: an execution is counted, not guessed.
"""

import asyncio
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from stack_up import RunningStack

from mirror_stage.child_processes import spawn, stop_process
from stack_cli import mirror_stage
from waiting import wait_until

SLEEP_SECONDS = 5  # a command in flight: long enough to kill something under it
ATTEMPTS = 120  # 0.25 s apart: outlives the restart of the commands service or the database
FINAL = ("succeeded", "failed", "timed_out", "cancelled", "expired", "rejected")


@dataclass
class FieldAgent:
    """The agent process of host `host_id`, its config, log and the commands' trace file."""

    host_id: str
    config: Path
    log_path: Path
    trace: Path
    process: asyncio.subprocess.Process | None = field(default=None)

    async def start(self, stack: RunningStack) -> None:
        self.process = await spawn(
            [sys.executable, "-m", "mirror_agent", "--config", str(self.config)],
            log_path=self.log_path,
            env=stack.env,
        )

    async def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would end it."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None:
            await stop_process(self.process)

    def accepted(self, command_id: str) -> int:
        """How many times the agent's log says it took `command_id` to run."""
        return self.log_path.read_text().count(f"command.accepted command_id={command_id}")

    def executions(self, tag: str) -> Counter[str]:
        """`start` and `done` lines of sleeper `tag` in the trace: its runs, begun and ended."""
        if not self.trace.exists():
            return Counter()
        words = self.trace.read_text().split()
        return Counter(w.split(":")[0] for w in words if w.endswith(f":{tag}"))

    def sleeper(self, tag: str) -> str:
        """A shell command that writes `start:<tag>`, sleeps, and writes `done:<tag>`."""
        return (
            f"echo start:{tag} >> {self.trace}; sleep {SLEEP_SECONDS}; "
            f"echo done:{tag} >> {self.trace}"
        )


async def enrolled_agent(stack: RunningStack, data_dir: Path, host_id: str) -> FieldAgent:
    """Enroll `host_id` on the running stack and start its agent (not yet publishing)."""
    code, printed = await mirror_stage(
        stack.env, "agent", "enroll", host_id, "--data-dir", str(data_dir)
    )
    assert code == 0, printed
    found = re.search(r"its credentials file is (\S+)", printed)
    assert found is not None, printed
    async with httpx.AsyncClient(timeout=10) as http:
        key = await http.get(f"http://127.0.0.1:{stack.port('commands')}/api/commands/signing-key")
    home = data_dir.parent / host_id
    home.mkdir(parents=True, exist_ok=True)
    config = home / "agent.toml"
    config.write_text(
        f'nats_url = "{stack.env["MIRROR_STAGE_NATS_URL"]}"\n'
        f'credentials_file = "{found.group(1)}"\n'
        f'host_id = "{host_id}"\n'
        "interval_seconds = 1\n"
        f'buffer_dir = "{home / "buffer"}"\n'
        "\n[commands]\n"
        'mode = "any"\n'
        "allow_shell = true\n"
        f'signing_public_key = "{key.json()["public_key"]}"\n'
    )
    agent = FieldAgent(host_id, config, home / "agent.log", home / "trace")
    await agent.start(stack)
    return agent


@dataclass
class CommandsApi:
    """The commands service's HTTP API as the logged-in admin uses it."""

    http: httpx.AsyncClient
    url: str

    async def send(self, host: str, text: str) -> str:
        """POST a command for `host`; retried while the commands service (or its database)
        is away. Its id."""
        for _ in range(ATTEMPTS):
            try:
                answer = await self.http.post(
                    f"{self.url}/api/commands",
                    json={"hostname": host, "command": text, "timeout_seconds": 60},
                )
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 201:
                return str(answer.json()["commands"][0]["id"])
            await asyncio.sleep(0.25)
        raise AssertionError(f"the commands service never took {text!r} for {host}")

    async def record(self, command_id: str) -> dict[str, Any] | None:
        """The command's record with its events; None while the service cannot answer."""
        try:
            answer = await self.http.get(f"{self.url}/api/commands/{command_id}")
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            return None
        record: dict[str, Any] = answer.json()
        return record

    async def status(self, command_id: str) -> str | None:
        record = await self.record(command_id)
        return None if record is None else str(record["status"])

    async def wait_status(self, command_id: str, *statuses: str, within: float = 60) -> str:
        """Until the audit says one of `statuses`; which."""
        seen: list[str | None] = [None]

        async def reached() -> bool:
            seen[0] = await self.status(command_id)
            return seen[0] in statuses

        await wait_until(reached, timeout=within, what=f"command {command_id} in {statuses}")
        assert seen[0] is not None
        return seen[0]

    async def wait_final(self, command_id: str, within: float = 90) -> str:
        """Until the command is in a final state; which."""
        return await self.wait_status(command_id, *FINAL, within=within)

    async def audit(self, command_id: str) -> list[str]:
        """The events of the command's audit, in order."""
        record = await self.record(command_id)
        assert record is not None, command_id
        return [str(e["event"]) for e in record["events"]]
