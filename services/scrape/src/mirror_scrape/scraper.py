"""The scrape loop: every interval, read each target's node_exporter and publish its sample
through the agent's shipper (in order per host, each acknowledged by JetStream, sent again
after a reconnect). A target that does not answer is logged and sends nothing: its host goes
stale in the twin as a silent agent's would."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from mirror_agent.agent import envelope_of
from mirror_agent.buffer import MemoryBuffer
from mirror_agent.shipper import Shipper, drain
from mirror_agent.transport import NatsTransport
from mirror_schema import codec, identities
from mirror_schema.samples import MetricSample, decode_sample
from mirror_schema.schedule import Schedule
from mirror_scrape.node_sample import Baseline, exporter_version, read_exposition, to_sample
from mirror_scrape.targets import Target, TargetsError, TargetsFile

__all__ = ["ScrapeOptions", "run_scraper"]

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT_SECONDS: Final = 10.0
SCRAPES_AT_ONCE: Final = 32
MAX_EXPOSITION_BYTES: Final = 2 * 2**20  # node_exporter writes about 100 kB
# Under nats-server's max_payload (1 MiB): one sample too large would never be acknowledged
# and would hold up every host's behind it.
MAX_SAMPLE_BYTES: Final = 512 * 1024
STOP_GRACE_SECONDS: Final = 5.0
BUFFER_BYTES: Final = 64 * 2**20


@dataclass(frozen=True)
class ScrapeOptions:
    targets: Path
    nats_url: str
    interval: float = 5.0
    credentials_file: str | None = None
    tls_ca_file: str | None = None


class Scraper:
    """What the scraper remembers between rounds: each host's last CPU baseline and sequence."""

    def __init__(self, shipper: Shipper, http: httpx.AsyncClient, interval: float) -> None:
        self.shipper = shipper
        self.http = http
        self.interval = interval
        self.boot_id = f"scrape-{uuid.uuid4().hex[:12]}"  # a new run never reuses a Msg-Id
        self.previous: dict[str, Baseline] = {}
        self.seq: dict[str, int] = {}
        self.failing: set[str] = set()  # logged once when a host starts failing

    async def round(self, targets: list[Target]) -> int:
        """Read every target once, each sample submitted as its read ends; how many were.
        A target failing in any way (no answer, a page that is no exposition, values the
        schema refuses) costs its own host's sample alone."""
        gate = asyncio.Semaphore(SCRAPES_AT_ONCE)
        wanted = {target.host_id for target in targets}
        for gone in set(self.previous) - wanted:
            del self.previous[gone]

        async def one(target: Target) -> bool:
            async with gate:
                try:
                    async with asyncio.timeout(min(SCRAPE_TIMEOUT_SECONDS, self.interval)):
                        sample = await self._sample(target)
                except Exception as exc:  # noqa: BLE001 - one host's failure is its own
                    self._failed(target, exc)
                    return False
            self.failing.discard(target.host_id)
            self.shipper.submit(envelope_of(sample))
            return True

        done = await asyncio.gather(*(one(target) for target in targets))
        return sum(done)

    async def _sample(self, target: Target) -> MetricSample:
        reading = await asyncio.to_thread(read_exposition, await self._page(target))
        seq = self.seq.get(target.host_id, 0) + 1
        sample = to_sample(
            reading,
            self.previous.get(target.host_id),
            host_id=target.host_id,
            tags=target.tags,
            rack=target.rack,
            at=datetime.now(UTC),
            exporter_version=exporter_version(reading),
            seq=seq,
            boot_id=self.boot_id,
            interval_seconds=self.interval,
        )
        encoded = codec.encode(sample)
        if len(encoded) > MAX_SAMPLE_BYTES:
            raise ValueError(f"its sample is {len(encoded):,} bytes, over {MAX_SAMPLE_BYTES:,}")
        decode_sample(encoded)  # what every consumer would refuse is not sent
        self.seq[target.host_id] = seq
        self.previous[target.host_id] = reading.baseline()
        return sample

    async def _page(self, target: Target) -> str:
        async with self.http.stream("GET", target.url) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_EXPOSITION_BYTES:
                    raise ValueError(f"the page is over {MAX_EXPOSITION_BYTES:,} bytes")
        return body.decode("utf-8", errors="replace")

    def _failed(self, target: Target, exc: Exception) -> None:
        if target.host_id not in self.failing:
            self.failing.add(target.host_id)
            log.warning(
                "scrape.failed host_id=%s url=%s error=%s",
                target.host_id,
                target.url,
                str(exc) or type(exc).__name__,
            )


async def run_scraper(options: ScrapeOptions, stop: asyncio.Event) -> None:
    """Scrape every interval until `stop` is set, then let the shipper drain (bounded)."""
    targets_file = TargetsFile(options.targets)
    transport = NatsTransport(
        options.nats_url,
        name="mirror-scrape",
        credentials_file=options.credentials_file,
        inbox=identities.inbox_prefix(identities.SCRAPER),
        ca_file=options.tls_ca_file,
    )
    transport.start()
    shipper = Shipper(transport, MemoryBuffer(BUFFER_BYTES), batch_size=250)
    shipper_stop = asyncio.Event()
    targets: list[Target] = []
    try:
        async with (
            httpx.AsyncClient(
                timeout=SCRAPE_TIMEOUT_SECONDS,
                trust_env=False,  # no proxy from the environment between us and the exporters
                headers={"Accept-Encoding": "identity"},  # a page is read as it is, capped
            ) as http,
            asyncio.TaskGroup() as tasks,
        ):
            tasks.create_task(shipper.run(shipper_stop))
            scraper = Scraper(shipper, http, options.interval)
            schedule = Schedule(options.interval)
            while not stop.is_set():
                try:
                    targets, changed = targets_file.current()
                    if changed:
                        log.info("scrape.targets count=%d file=%s", len(targets), options.targets)
                except TargetsError as exc:
                    log.error(
                        "scrape.targets_refused error=%s (keeping %d targets)", exc, len(targets)
                    )
                await scraper.round(targets)
                try:
                    async with asyncio.timeout(schedule.next_delay()):
                        await stop.wait()
                except TimeoutError:
                    pass
            await drain([shipper], STOP_GRACE_SECONDS)
            shipper_stop.set()
    finally:
        await transport.close()
