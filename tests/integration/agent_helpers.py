"""Helpers for the agent's integration tests: real agents for a host of the test's own,
commands signed as the commands service signs them, and what a host published."""

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import nats
import nats.errors
import nats.js.errors

from mirror_schema import codec, subjects
from mirror_schema.command_signing import SigningKey, new_signing_key, sign_command
from mirror_schema.commands import Command, CommandResult, CommandStatus
from mirror_schema.samples import MetricSample
from waiting import wait_until


async def stored_samples(url: str, host_id: str) -> list[tuple[str, MetricSample]]:
    """Every (Nats-Msg-Id, sample) of `host_id` in the stream, in stream order."""
    nc = await nats.connect(url)
    found: list[tuple[str, MetricSample]] = []
    try:
        subscription = await nc.jetstream().subscribe(
            subjects.metrics_raw(host_id), ordered_consumer=True
        )
        while True:
            try:
                msg = await subscription.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                break  # nothing stored at all
            assert msg.headers is not None
            found.append((msg.headers["Nats-Msg-Id"], codec.decode_sample(msg.data)))
            if msg.metadata.num_pending == 0:
                break
        await subscription.unsubscribe()
    finally:
        await nc.close()
    return found


async def stored_count(url: str, host_id: str) -> int:
    """How many samples of `host_id` the stream holds."""
    return len(await stored_samples(url, host_id))


# --- the command loop: a real agent process, commands in, statuses and results out ---


def mirror_agent(*args: str) -> subprocess.CompletedProcess[str]:
    """`mirror-agent ARGS` run to its end (at most a minute), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "mirror_agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class AgentProcess:
    """`python -m mirror_agent --config FILE` as systemd runs it; stop, kill and start again."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - once, before the agent runs
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mirror_agent",
                "--config",
                str(self.config),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def stop(self) -> int:
        """SIGTERM, as systemd stops it; SIGKILL if it has not exited within 15 s."""
        process = self.process
        if process is None or process.returncode is not None:
            return process.returncode if process and process.returncode is not None else 0
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                return await process.wait()
        except TimeoutError:
            process.kill()
            return await process.wait()

    async def kill(self) -> None:
        """SIGKILL: the agent dies at once, with no chance to tidy up."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# The tests' stand-in for the commands service's key: commands dispatched by the tests
# themselves are signed with it, and agents are configured with its public half.
TEST_SIGNING_KEY = new_signing_key()


def write_agent_config(
    path: Path,
    url: str,
    host_id: str,
    commands: str,
    *,
    tags: Mapping[str, str] | None = None,
    public_key: str | None = None,
    credentials_file: Path | None = None,
    interval_seconds: float = 30,
) -> Path:
    """An agent config with its state in `path`'s directory and the given `[commands]` body,
    trusting commands signed by `public_key` (default: TEST_SIGNING_KEY's), on the bus as the
    identity in `credentials_file` when given."""
    state = path.parent / "state"
    tag_line = (
        "tags = {" + ", ".join(f'{k} = "{v}"' for k, v in tags.items()) + "}\n" if tags else ""
    )
    top = f'nats_url = "{url}"\nhost_id = "{host_id}"\ninterval_seconds = {interval_seconds}\n'
    top += tag_line
    if credentials_file is not None:
        top += f'credentials_file = "{credentials_file}"\n'
    path.write_text(
        top + f'buffer_dir = "{state / "buffer"}"\n'
        "\n[commands]\n"
        f'state_dir = "{state}"\n'
        "kill_grace_seconds = 0.5\n"
        f'signing_public_key = "{public_key or TEST_SIGNING_KEY.public_key}"\n' + commands
    )
    return path


def new_command(host_id: str, text: str, **fields: Any) -> Command:
    """A Command as the commands service dispatches it, with a fresh id, valid for an hour
    unless `expires_at` is given; not signed yet (dispatch() signs)."""
    now = datetime.now(UTC)
    fields.setdefault("expires_at", now + timedelta(hours=1))
    return Command(id=uuid.uuid4().hex, host_id=host_id, command=text, created_at=now, **fields)


async def dispatch(
    url: str,
    command: Command,
    *,
    msg_id: str | None = None,
    key: SigningKey | None = TEST_SIGNING_KEY,
) -> None:
    """Publish `command` on commands.dispatch.<host> (stream COMMANDS), signed with `key`
    (None: as it is, e.g. unsigned or already signed)."""
    if key is not None:
        command = sign_command(command, key)
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(
            subjects.commands_dispatch(command.host_id),
            codec.encode(command),
            headers={"Nats-Msg-Id": msg_id or command.id},
        )
    finally:
        await nc.close()


class Reported(NamedTuple):
    """One message of COMMAND_RESULTS: a status or a result, with its place and Nats-Msg-Id."""

    stream_seq: int
    msg_id: str
    status: CommandStatus | None
    result: CommandResult | None


async def reported(url: str, host_id: str, command_id: str | None = None) -> list[Reported]:
    """Every status and result `host_id` published (of `command_id` alone if given)."""
    nc = await nats.connect(url)
    found: list[Reported] = []
    try:
        js = nc.jetstream()
        for subject in (subjects.commands_status(host_id), subjects.commands_result(host_id)):
            sub = await js.subscribe(subject, ordered_consumer=True, stream="COMMAND_RESULTS")
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except nats.errors.TimeoutError:
                    break
                assert msg.headers is not None
                place = (msg.metadata.sequence.stream, msg.headers["Nats-Msg-Id"])
                if subject == subjects.commands_status(host_id):
                    found.append(Reported(*place, codec.decode_command_status(msg.data), None))
                else:
                    found.append(Reported(*place, None, codec.decode_command_result(msg.data)))
                if msg.metadata.num_pending == 0:
                    break
            await sub.unsubscribe()
    finally:
        await nc.close()
    found.sort()  # stream order
    if command_id is None:
        return found
    return [
        r
        for r in found
        if (r.status and r.status.command_id == command_id)
        or (r.result and r.result.command_id == command_id)
    ]


async def result_of(url: str, host_id: str, command_id: str, *, within: float) -> CommandResult:
    """Wait for the final result of `command_id`, and return it."""
    results: list[CommandResult] = []

    async def arrived() -> bool:
        results[:] = [
            r.result for r in await reported(url, host_id, command_id) if r.result is not None
        ]
        return bool(results)

    await wait_until(arrived, timeout=within, what=f"the result of command {command_id}")
    return results[0]
