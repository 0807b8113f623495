"""Helpers of bench_commands.py: the commands service and a real agent as deployed, hosts made
known through METRICS, and a fleet of simulated executors in one process.

    .venv/bin/python bench/commands_fleet.py NATS_URL   # the executors; bench_commands.py runs it

Not named bench_*.py: `make bench` runs every bench_*.py.
"""

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
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

# Run directly as the executors' process too, not only imported by bench_commands.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import process_cpu

from mirror_agent.agent import envelope_of
from mirror_agent.commands.publisher import result_msg_id, running_msg_id
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import codec, streams, subjects
from mirror_schema.commands import CommandResult, CommandState, CommandStatus
from mirror_stage.supervisor import PartSpec
from servers import service_spec

EXECUTORS_DURABLE = "bench-executors"
FETCH_BATCH = 256
READY = "executors ready"


def commands_spec(base: Path, nats_url: str, db_url: str, port: int) -> PartSpec:
    """`python -m mirror_commands` as deployed (defaults, JSON log), healthy on /api/health."""
    return service_spec(
        "commands", log_path=base / "commands.log", nats_url=nats_url, port=port, db_url=db_url
    )


def write_agent_config(directory: Path, nats_url: str, host_id: str, public_key: str) -> Path:
    """An agent config that runs `true` (allowlist mode, the default mode, with `true` alone),
    signed by the commands service whose public key is `public_key`."""
    state = directory / "state"
    path = directory / "agent.toml"
    path.write_text(
        f'nats_url = "{nats_url}"\n'
        f'host_id = "{host_id}"\n'
        "interval_seconds = 30\n"
        f'buffer_dir = "{state / "buffer"}"\n'
        "\n[commands]\n"
        'mode = "allowlist"\n'
        'allowlist = ["true"]\n'
        f'state_dir = "{state}"\n'
        f'signing_public_key = "{public_key}"\n'
    )
    return path


async def publish_samples(nc: nats.aio.client.Client, hosts: int, seed: int) -> list[str]:
    """One sample of each of `hosts` simulated hosts on METRICS, as the agent addresses it (the
    commands service learns hosts, their tags and that they are online from these); host ids."""
    js = nc.jetstream()
    samples = SimulatedFleet(hosts, seed=seed, run_token=f"bench{seed}").tick(time.time())
    acks = []
    for sample in samples:
        envelope = envelope_of(sample)
        acks.append(
            await js.publish_async(
                envelope.subject, envelope.payload, headers={"Nats-Msg-Id": envelope.msg_id}
            )
        )
    await asyncio.gather(*acks)
    return [s.host_id or "" for s in samples]


def cpu_by_part() -> dict[str, float]:
    """CPU seconds used so far by this process ("bench") and each of PARTS' processes."""
    return process_cpu.cpu_by_part(PARTS)


def cpu_report(before: dict[str, float], after: dict[str, float], wall: float) -> str:
    """Each part's share of one core over `wall` seconds (200 % = both cores of this machine)."""
    shares = [
        f"{name} {100 * (after.get(name, 0.0) - before.get(name, 0.0)) / wall:.0f}%"
        for name in ("commands", "postgres", "nats", "agent", "executors", "bench")
        if name in after
    ]
    return "CPU over the phase (100% = one core): " + ", ".join(shares)


PARTS = (
    ("commands", "mirror_commands"),
    ("agent", "mirror_agent"),
    ("executors", "commands_fleet.py"),
    ("nats", "nats-server"),
    ("postgres", "postgres"),
)


# --- the executors: one process standing in for a fleet of agents ------------------------


class Executors:
    """Takes every command on commands.dispatch.> and reports it as the agent does: acks the
    dispatch, publishes CommandStatus `running` and a CommandResult `succeeded`, each awaited
    for its JetStream ack with the agent's Nats-Msg-Ids. Runs no process: on a real fleet each
    host forks its own `true`, which two shared cores would only serialise."""

    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.handled = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        config = ConsumerConfig(
            durable_name=EXECUTORS_DURABLE,
            filter_subject=subjects.COMMANDS_DISPATCH_ALL,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW,  # not the round trips' commands of before
            max_ack_pending=10_000,
            ack_wait=30,
        )
        await self.js.add_consumer(streams.COMMANDS.name, config)
        pull = await self.js.pull_subscribe_bind(
            durable=EXECUTORS_DURABLE, stream=streams.COMMANDS.name
        )
        print(READY, flush=True)
        while not stop.is_set():
            try:
                msgs = await pull.fetch(FETCH_BATCH, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for msg in msgs:
                task = asyncio.create_task(self.execute(msg))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def execute(self, msg: Msg) -> None:
        command = codec.decode_command(msg.data)
        host_id = subjects.host_id_from_subject(msg.subject)
        await msg.ack()
        if command.host_id != host_id:
            print(f"command {command.id} for {command.host_id!r} on {msg.subject}", flush=True)
            return
        started = datetime.now(UTC)
        status = CommandStatus(
            command_id=command.id, host_id=host_id, status="running", timestamp=started, pid=1
        )
        await self.js.publish(
            subjects.commands_status(host_id),
            codec.encode(status),
            headers={"Nats-Msg-Id": running_msg_id(command.id)},
        )
        result = CommandResult(
            command_id=command.id,
            host_id=host_id,
            state=CommandState.SUCCEEDED,
            finished_at=datetime.now(UTC),
            started_at=started,
            exit_code=0,
        )
        await self.js.publish(
            subjects.commands_result(host_id),
            codec.encode(result),
            headers={"Nats-Msg-Id": result_msg_id(command.id)},
        )
        self.handled += 1


async def executors_main(url: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    nc = await nats.connect(url)
    executors = Executors(nc)
    try:
        await executors.run(stop)
    finally:
        with contextlib.suppress(nats.errors.Error):
            await nc.jetstream().delete_consumer(streams.COMMANDS.name, EXECUTORS_DURABLE)
        await nc.close()
    print(msgspec.json.encode({"handled": executors.handled}).decode(), flush=True)


async def start_executors(url: str) -> asyncio.subprocess.Process:
    """Start the executors' process (its stderr is ours); return once its consumer is bound."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, url, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
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
    asyncio.run(executors_main(sys.argv[1]))
