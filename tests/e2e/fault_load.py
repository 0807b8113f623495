"""The load a fault runs under: a fault's own hosts, so that its counts are its own.

`Load` publishes each sample with nats-py and retries it until acknowledged (enough while the
bus stays up); `ShippedLoad` goes through the agent's own shipper and NATS transport, whose
resend after a reconnect is what keeps an acknowledged sample when nats-server is killed
(mirror_schema.resend)."""

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import nats
import nats.errors
import nats.js.errors

from mirror_agent.buffer import MemoryBuffer
from mirror_agent.envelope import Envelope
from mirror_agent.shipper import Shipper
from mirror_agent.transport import NatsTransport
from mirror_schema import subjects

HOSTS = 4  # loaded hosts of one fault, and one more always at 99 % CPU
SAMPLES_PER_HOST = 100
PACE_SECONDS = 0.02  # between two rounds: 5 hosts x 100 samples in about 10 s
PUBLISH_ATTEMPTS = 80  # 0.25 s apart: outlives a restart of any part
SHIPPED_LIMIT_SECONDS = 120.0


@dataclass(frozen=True)
class Fleet:
    """The hosts a fault loads, named after it: `hosts` and `hot`, always at 99 % CPU, whose
    alert (rule `rule`) must fire exactly once."""

    name: str
    size: int = HOSTS

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(f"{self.name}-{n}" for n in range(self.size))

    @property
    def hot(self) -> str:
        return f"{self.name}-hot"

    @property
    def rule(self) -> str:
        return f"{self.name}-spike"

    @property
    def every_host(self) -> tuple[str, ...]:
        return (*self.hosts, self.hot)


def sample_body(fleet: Fleet, host: str, seq: int, start: datetime) -> bytes:
    """Sample `seq` of `host`, one second after the one before."""
    return msgspec.json.encode(
        {
            "hostname": host,
            "host_id": host,
            "boot_id": "faults",
            "seq": seq,
            "interval_seconds": 1.0,
            "timestamp": (start + timedelta(seconds=seq)).isoformat(),
            "cpu_load": 99.0 if host == fleet.hot else float(seq % 60),
            "memory_used_percent": 30.0,
        }
    )


def ten_minutes_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=10)


@dataclass
class Load:
    """Samples published for a fleet's hosts, each retried until acknowledged."""

    js: nats.js.JetStreamContext
    fleet: Fleet
    samples_per_host: int = SAMPLES_PER_HOST
    start: datetime = field(default_factory=ten_minutes_ago)
    published: Counter[str] = field(default_factory=Counter)

    async def publish(self, host: str, seq: int) -> None:
        body = sample_body(self.fleet, host, seq, self.start)
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                await self.js.publish(
                    subjects.metrics_raw(host),
                    body,
                    headers={"Nats-Msg-Id": f"{host}:faults:{seq}"},
                    timeout=2,
                )
                self.published[host] += 1
                return
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
                await asyncio.sleep(0.25)
        raise AssertionError(f"{host} sample {seq} was never acknowledged")

    async def run(self) -> None:
        for seq in range(1, self.samples_per_host + 1):
            for host in self.fleet.every_host:
                await self.publish(host, seq)
            await asyncio.sleep(PACE_SECONDS)


@dataclass
class ShippedLoad:
    """A fleet's samples through the agent's shipper (memory buffer, NATS transport): a
    round of samples every PACE_SECONDS, acknowledged in order whatever the bus does."""

    url: str
    credentials_file: str
    fleet: Fleet
    samples_per_host: int = SAMPLES_PER_HOST
    pace: float = PACE_SECONDS
    start: datetime = field(default_factory=ten_minutes_ago)

    def __post_init__(self) -> None:
        self.transport = NatsTransport(
            self.url, name=f"faults-{self.fleet.name}", credentials_file=self.credentials_file
        )
        self.shipper = Shipper(self.transport, MemoryBuffer(2**28), batch_size=50)
        self.submitted = 0

    @property
    def acknowledged(self) -> int:
        """Samples JetStream acknowledged so far."""
        return self.shipper.stats.sent - self.shipper.stats.rejected

    @property
    def published(self) -> Counter[str]:
        """Per host, what was acknowledged once the load is over (the shipper acknowledges
        in order, every sample of every host)."""
        return Counter(dict.fromkeys(self.fleet.every_host, self.samples_per_host))

    async def run(self) -> None:
        """Submit every sample at the pace, then wait until all are acknowledged."""
        self.transport.start()
        stop = asyncio.Event()
        shipping = asyncio.create_task(self.shipper.run(stop))
        try:
            for seq in range(1, self.samples_per_host + 1):
                for host in self.fleet.every_host:
                    body = sample_body(self.fleet, host, seq, self.start)
                    msg_id = f"{host}:faults:{seq}"
                    self.shipper.submit(Envelope(subjects.metrics_raw(host), msg_id, body))
                    self.submitted += 1
                await asyncio.sleep(self.pace)
            async with asyncio.timeout(SHIPPED_LIMIT_SECONDS):
                await self.shipper.wait_empty()
        finally:
            stop.set()
            await shipping
            await self.transport.close()

    @property
    def refused(self) -> int:
        """Samples the shipper gave up on: dropped by its buffer's cap or refused as invalid
        (0 for a valid load: every one is acknowledged)."""
        return self.shipper.dropped + self.shipper.stats.rejected
