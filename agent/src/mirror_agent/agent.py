"""Agent: collects on a drift-free schedule and ships through the buffer until stopped.

The parts run side by side in one TaskGroup: the telemetry loop, the shipper and (over NATS,
unless `[commands] mode = "off"`) the command loop, which shares the transport's connection.
"""

import asyncio
import logging
import socket
import uuid

import nats.aio.client

from mirror_agent.buffer import open_buffer
from mirror_agent.collector import Collector
from mirror_agent.commands.loop import CommandLoop
from mirror_agent.commands.settings import journal_path, run_as_error
from mirror_agent.config import AgentConfig
from mirror_agent.envelope import Envelope
from mirror_agent.nats_auth import inbox_prefix
from mirror_agent.shipper import Shipper, drain
from mirror_agent.transport import HttpTransport, NatsTransport, Transport
from mirror_schema import codec, subjects
from mirror_schema.hosts import host_id_from_hostname
from mirror_schema.samples import MetricSample
from mirror_schema.schedule import ticks

log = logging.getLogger(__name__)

# On stop, how long the shipper may keep sending what is buffered before the agent exits.
STOP_GRACE_SECONDS = 3.0


def identity(config: AgentConfig) -> tuple[str, str]:
    """(host id, hostname): from the config, else derived from this machine's hostname."""
    hostname = config.hostname or socket.gethostname()
    return config.host_id or host_id_from_hostname(hostname), hostname


def envelope_of(sample: MetricSample) -> Envelope:
    """The sample addressed to metrics.raw.<host> with its `<host>:<boot id>:<seq>` id."""
    assert sample.host_id is not None
    assert sample.boot_id is not None
    assert sample.seq is not None
    return Envelope(
        subject=subjects.metrics_raw(sample.host_id),
        msg_id=codec.sample_msg_id(sample.host_id, sample.boot_id, sample.seq),
        payload=codec.encode(sample),
    )


def make_transport(config: AgentConfig, host_id: str) -> Transport:
    """The transport the config asks for."""
    if config.transport == "http":
        assert config.ingest_url is not None  # the config's validation guarantees it
        return HttpTransport(config.ingest_url, token=config.ingest_token)
    transport = NatsTransport(
        config.nats_url,
        name=f"agent:{host_id}",
        credentials_file=config.credentials_file,
        inbox=inbox_prefix(host_id),
        ca_file=config.tls_ca_file,
    )
    transport.start()
    return transport


class Agent:
    """One host's REFLECTOR."""

    def __init__(self, config: AgentConfig, *, collector: Collector | None = None) -> None:
        self.config = config
        self.host_id, self.hostname = identity(config)
        self.boot_id = uuid.uuid4().hex
        self.collector = collector or Collector(
            host_id=self.host_id,
            hostname=self.hostname,
            boot_id=self.boot_id,
            rack=config.rack,
            position=config.position,
            top_processes=config.top_processes,
        )
        self.seq = 0
        self.shipper: Shipper | None = None
        self.commands: CommandLoop | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Collect and ship until `stop` is set; then send what is buffered, briefly."""
        transport = make_transport(self.config, self.host_id)
        buffer = open_buffer(self.config.buffer_dir, self.config.buffer_max_bytes)
        shipper = self.shipper = Shipper(transport, buffer)
        shipper_stop = asyncio.Event()
        commands = self.commands = self.command_loop(transport)
        log.info(
            "agent.started host_id=%s transport=%s interval_seconds=%s buffered=%d",
            self.host_id,
            self.config.transport,
            self.config.interval_seconds,
            len(buffer),
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(shipper.run(shipper_stop))
                if commands is not None:
                    tasks.create_task(commands.run(stop))
                await self._telemetry(stop, shipper)
                await drain([shipper], STOP_GRACE_SECONDS)
                shipper_stop.set()
        finally:
            await transport.close()
            buffer.close()
        log.info(
            "agent.stopped sent=%d still_buffered=%d dropped=%d rejected=%d",
            shipper.stats.sent,
            len(buffer),
            buffer.dropped,
            shipper.stats.rejected,
        )

    def command_loop(self, transport: Transport) -> CommandLoop | None:
        """The command loop the config asks for, or None (and why, in the log)."""
        settings = self.config.commands
        if settings.mode == "off":
            log.info("commands.off host_id=%s", self.host_id)
            return None
        path = journal_path(settings, self.config.buffer_dir, self.host_id)
        problem = None
        if not isinstance(transport, NatsTransport):
            problem = 'transport = "http": commands come over NATS only'
        elif path is None:
            problem = "no place for the journal: set [commands] state_dir (or buffer_dir)"
        elif settings.signing_public_key is None:
            problem = (
                "no [commands] signing_public_key: without the commands service's public key no "
                "command can be checked (GET /api/commands/signing-key gives it)"
            )
        elif settings.run_as is not None:
            problem = run_as_error(settings.run_as)
        if problem is not None or path is None or not isinstance(transport, NatsTransport):
            log.warning("commands.disabled host_id=%s reason=%s", self.host_id, problem)
            return None
        nats_transport = transport

        def connection() -> nats.aio.client.Client | None:
            return nats_transport.nc  # None until the transport's first connect

        return CommandLoop(settings, host_id=self.host_id, journal_path=path, connection=connection)

    def collect(self) -> MetricSample:
        """The next sample, with the next sequence number."""
        self.seq += 1
        return self.collector.collect(
            seq=self.seq, interval_seconds=self.config.interval_seconds, tags=self.config.tags
        )

    async def _telemetry(self, stop: asyncio.Event, shipper: Shipper) -> None:
        async for _ in ticks(self.config.interval_seconds, stop, at_start=True):
            # In a thread: a reading waiting out its deadline never holds up the event loop
            # (commands, shipping).
            sample = await asyncio.to_thread(self.collect)
            shipper.submit(envelope_of(sample))
