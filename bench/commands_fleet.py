"""Helpers of bench_commands.py: a fleet of enrolled hosts, each with its own identity,
connection and durable consumer, executed in one process.

    .venv/bin/python bench/commands_fleet.py NATS_URL FLEET_JSON   # bench_commands.py runs it

FLEET_JSON names the commands service's public key and each host with its credentials file
(`mirror-stage agent enroll`'s). Not named bench_*.py: `make bench` runs every bench_*.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
import nats.aio.client
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

# Run directly as the executors' process too, not only imported by bench_commands.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import process_cpu

from mirror_agent.agent import envelope_of
from mirror_agent.commands.loop import consumer_config, consumer_name
from mirror_agent.commands.publisher import Publisher
from mirror_agent.commands.settings import CommandSettings
from mirror_agent.commands.withdrawals import Withdrawals
from mirror_agent.jetstream import agent_jetstream
from mirror_agent.nats_auth import connect_options, inbox_prefix
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import codec, streams
from mirror_schema.command_signing import SignatureError, verify_command
from mirror_schema.commands import CommandResult, CommandState
from mirror_schema.samples import MetricSample

READY = "executors ready"
CONNECTS_AT_ONCE = 32
FETCH_WAIT_SECONDS = 5.0
SEED = 7


class FleetFile(msgspec.Struct, frozen=True):
    """What the executors' process is told: the key commands are signed with, and each host
    with its credentials file."""

    public_key: str
    hosts: list[tuple[str, str]]


def fleet_samples(count: int) -> list[MetricSample]:
    """One sample of each of `count` simulated hosts (sim-0000...), as their agents send it."""
    return SimulatedFleet(count, seed=SEED, run_token="bench-commands").tick(time.time())


PARTS = (*process_cpu.STACK_PARTS, ("executors", "commands_fleet.py"))


def cpu_by_part() -> dict[str, float]:
    """CPU seconds used so far by this process ("bench") and each of PARTS' processes."""
    return process_cpu.cpu_by_part(PARTS)


def cpu_report(before: dict[str, float], after: dict[str, float], wall: float) -> str:
    """Each part's share of one core over `wall` seconds."""
    return process_cpu.cpu_report(PARTS, before, after, wall)


# --- the executors: one process standing in for a fleet of agents ------------------------


class HostExecutor:
    """One host's agent as the commands service sees it: its own identity and connection, its
    own durable consumer made as the agent makes it; per command the agent's checks (host,
    signature, withdrawal), the ack, its `running` status and a `succeeded` result through the
    agent's Publisher. Forks nothing: on a real fleet each host forks its own `true`, which two
    shared cores would only serialise."""

    def __init__(self, host_id: str, credentials: str, public_key: str) -> None:
        self.host_id = host_id
        self.credentials = credentials
        self.public_key = public_key
        self.settings = CommandSettings(signing_public_key=public_key)
        self.handled = 0
        self.refused = 0
        self.nc: nats.aio.client.Client | None = None
        self.pull: JetStreamContext.PullSubscription | None = None

    async def start(self, url: str, sample: MetricSample) -> None:
        """Connect, publish the host's sample (the service learns it is online), bind its
        consumer."""
        options = connect_options(self.credentials, inbox_prefix(self.host_id))
        self.nc = nc = await nats.connect(url, max_reconnect_attempts=3, **options)
        js = await agent_jetstream(nc)
        envelope = envelope_of(sample)
        await nc.jetstream().publish(
            envelope.subject, envelope.payload, headers={"Nats-Msg-Id": envelope.msg_id}
        )
        await js.add_consumer(streams.COMMANDS.name, consumer_config(self.host_id, self.settings))
        self.pull = await js.pull_subscribe_bind(
            durable=consumer_name(self.host_id), stream=streams.COMMANDS.name
        )
        self.publisher = Publisher(nc, host_id=self.host_id, consumer=consumer_name(self.host_id))
        self.withdrawals = Withdrawals(nc, host_id=self.host_id, public_key=self.public_key)

    async def run(self, stop: asyncio.Event) -> None:
        assert self.pull is not None
        while not stop.is_set():
            try:
                msgs = await self.pull.fetch(1, timeout=FETCH_WAIT_SECONDS)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except (nats.errors.Error, nats.js.errors.Error):
                if stop.is_set():
                    return
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                await self.execute(msg)

    async def execute(self, msg: Msg) -> None:
        command = codec.decode_command(msg.data)
        try:
            if command.host_id != self.host_id:
                raise SignatureError(f"for {command.host_id!r}, not {self.host_id!r}")
            verify_command(command, self.public_key)
        except SignatureError as exc:
            print(f"{self.host_id}: command {command.id} refused: {exc}", flush=True)
            self.refused += 1
            await msg.term()
            return
        if await self.withdrawals.find(command.id) is not None:
            await msg.ack()
            return
        started = datetime.now(UTC)
        await msg.ack()
        await self.publisher.running(command.id, pid=1)
        await self.publisher.result(
            CommandResult(
                command_id=command.id,
                host_id=self.host_id,
                state=CommandState.SUCCEEDED,
                finished_at=datetime.now(UTC),
                started_at=started,
                exit_code=0,
            )
        )
        self.handled += 1

    async def close(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(nats.errors.Error):
                await self.nc.close()


async def executors_main(url: str, fleet: FleetFile) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    samples = {s.host_id: s for s in fleet_samples(len(fleet.hosts))}
    executors = [HostExecutor(h, creds, fleet.public_key) for h, creds in fleet.hosts]
    slots = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def start(executor: HostExecutor) -> None:
        async with slots:
            await executor.start(url, samples[executor.host_id])

    try:
        await asyncio.gather(*(start(e) for e in executors))
        print(READY, flush=True)
        await asyncio.gather(*(e.run(stop) for e in executors))
    finally:
        await asyncio.gather(*(e.close() for e in executors))
    handled = sum(e.handled for e in executors)
    refused = sum(e.refused for e in executors)
    print(msgspec.json.encode({"handled": handled, "refused": refused}).decode(), flush=True)


async def start_executors(url: str, fleet_path: Path) -> asyncio.subprocess.Process:
    """Start the executors' process (its stderr is ours); return once every host's sample is
    published and its consumer bound."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, url, str(fleet_path), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    async with asyncio.timeout(300):
        line = await process.stdout.readline()
    if line.decode().strip() != READY:
        raise RuntimeError(f"the executors did not start: {line!r}")
    return process


async def stop_executors(process: asyncio.subprocess.Process) -> str:
    """SIGTERM the executors; their last line (how many commands they handled)."""
    process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    async with asyncio.timeout(30):
        out = await process.stdout.read()
        await process.wait()
    lines = out.decode().strip().splitlines()
    return lines[-1] if lines else f"(no output, exit {process.returncode})"


if __name__ == "__main__":
    asyncio.run(
        executors_main(
            sys.argv[1], msgspec.json.decode(Path(sys.argv[2]).read_bytes(), type=FleetFile)
        )
    )
