"""Fleet simulator: N realistic hosts from one process, published through the agent's shipper."""

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mirror_agent.agent import envelope_of
from mirror_agent.buffer import MemoryBuffer
from mirror_agent.nats_auth import SIMULATOR_INBOX
from mirror_agent.shipper import Shipper, drain
from mirror_agent.signals import stop_event
from mirror_agent.simulated_fleet import SimulatedFleet, simulated_host_id
from mirror_agent.transport import NatsTransport
from mirror_schema.schedule import Schedule

log = logging.getLogger(__name__)

__all__ = ["SimulatorOptions", "SimulatorReport", "main", "run_simulator", "simulated_host_id"]


# On stop, how long the shippers may keep sending what is buffered before the simulator exits.
STOP_GRACE_SECONDS = 5.0
DEFAULT_INTERVAL_SECONDS = 5.0  # the agent's own default
MIN_INTERVAL_SECONDS = 0.5
SUMMARY_EVERY_SECONDS = 60.0
# Hosts sampled at once: a tick's slices are spread over the interval, and acks are read
# between them.
HOSTS_PER_SLICE = 250


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """What to simulate and where to publish it."""

    hosts: int
    nats_url: str = "nats://127.0.0.1:4222"
    interval: float = DEFAULT_INTERVAL_SECONDS
    seed: int = 1
    duration: float | None = None
    credentials_file: str | None = None
    tls_ca_file: str | None = None
    prefix: str = "sim"
    shippers: int = 4
    batch_size: int = 250
    buffer_max_bytes: int = 256 * 2**20


@dataclass
class SimulatorReport:
    """What a run published, for the summary lines, tests and benchmarks."""

    ticks: int = 0
    skipped_ticks: int = 0
    submitted: int = 0
    sent: int = 0
    buffered: int = 0
    max_buffered: int = 0
    dropped: int = 0
    silent: int = 0


def _update(report: SimulatorReport, shippers: Sequence[Shipper], fleet: SimulatedFleet) -> None:
    report.sent = sum(s.stats.sent for s in shippers)
    report.buffered = sum(len(s.buffer) for s in shippers)
    report.dropped = sum(s.dropped for s in shippers)
    report.silent = fleet.silent_count()


def _log_summary(event: str, report: SimulatorReport) -> None:
    log.info(
        "%s ticks=%d skipped_ticks=%d sent=%d buffered=%d dropped=%d silent_hosts=%d",
        event,
        report.ticks,
        report.skipped_ticks,
        report.sent,
        report.buffered,
        report.dropped,
        report.silent,
    )


async def run_simulator(options: SimulatorOptions, stop: asyncio.Event) -> SimulatorReport:
    """Publish the fleet every interval until `stop` is set (or `duration` passes), then drain."""
    loop = asyncio.get_running_loop()
    if options.duration is not None:
        loop.call_later(options.duration, stop.set)
    # A token per run in every boot id: a restart with the same seed must not reuse Msg-Ids.
    fleet = SimulatedFleet(
        options.hosts,
        options.seed,
        interval=options.interval,
        prefix=options.prefix,
        run_token=uuid.uuid4().hex[:8] + "-",
    )
    # The fleet lives as long as the process: keep the collector from rescanning its objects
    # at every collection (about a fifth of the time per sample otherwise).
    gc.freeze()
    transport = NatsTransport(
        options.nats_url,
        name="mirror-simulator",
        credentials_file=options.credentials_file,
        inbox=SIMULATOR_INBOX,
        ca_file=options.tls_ca_file,
    )
    transport.start()
    buffer_bytes = options.buffer_max_bytes // options.shippers
    shippers = [
        Shipper(transport, MemoryBuffer(buffer_bytes), batch_size=options.batch_size)
        for _ in range(options.shippers)
    ]
    report = SimulatorReport()
    shippers_stop = asyncio.Event()
    log.info(
        "simulator.started hosts=%d interval_seconds=%s seed=%d nats_url=%s",
        options.hosts,
        options.interval,
        options.seed,
        options.nats_url,
    )
    try:
        async with asyncio.TaskGroup() as tasks:
            for shipper in shippers:
                tasks.create_task(shipper.run(shippers_stop))
            await _publish(fleet, shippers, options.interval, stop, report)
            await drain(shippers, STOP_GRACE_SECONDS)
            shippers_stop.set()
    finally:
        await transport.close()
    _update(report, shippers, fleet)
    _log_summary("simulator.stopped", report)
    return report


async def _publish(
    fleet: SimulatedFleet,
    shippers: Sequence[Shipper],
    interval: float,
    stop: asyncio.Event,
    report: SimulatorReport,
) -> None:
    # Each host always goes through the same shipper: samples of one host stay in order.
    routes = [(host, shippers[host.index % len(shippers)]) for host in fleet.hosts]
    schedule = Schedule(interval)
    next_summary = time.monotonic() + SUMMARY_EVERY_SECONDS
    slices = range(0, len(routes), HOSTS_PER_SLICE)
    while not stop.is_set():
        began = time.monotonic()
        for index, start in enumerate(slices):
            # A fleet's agents are not in step: the slices are spread over the interval, each
            # stamped as it is sampled (a slice late already goes at once; a stop finishes the
            # tick without waiting, so every tick holds every host).
            wait = began + index * interval / len(slices) - time.monotonic()
            if wait > 0 and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await stop.wait()
            now = time.time()  # wall clock: the daily curve follows the time of day
            timestamp = datetime.fromtimestamp(now, UTC)
            for host, shipper in routes[start : start + HOSTS_PER_SLICE]:
                sample = host.sample(now, timestamp)
                if sample is not None:
                    shipper.submit(envelope_of(sample))
                    report.submitted += 1
            await asyncio.sleep(0)
        report.ticks += 1
        buffered = sum(len(shipper.buffer) for shipper in shippers)
        report.max_buffered = max(report.max_buffered, buffered)
        tick = schedule.tick
        delay = schedule.next_delay()
        report.skipped_ticks += schedule.tick - tick - 1
        if time.monotonic() >= next_summary:
            next_summary += SUMMARY_EVERY_SECONDS
            _update(report, shippers, fleet)
            _log_summary("simulator.progress", report)
        try:
            async with asyncio.timeout(delay):
                await stop.wait()
        except TimeoutError:
            pass


def _at_least(minimum: float, kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    """Arguments of `mirror-agent simulate` (and `python -m mirror_agent.simulate`)."""
    p = argparse.ArgumentParser(prog="mirror-agent simulate", description=__doc__)
    p.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    p.add_argument("--hosts", type=_at_least(1, int), required=True, help="hosts to simulate")
    p.add_argument(
        "--interval",
        type=_at_least(MIN_INTERVAL_SECONDS, float),
        default=DEFAULT_INTERVAL_SECONDS,
        help="seconds",
    )
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same fleet")
    p.add_argument("--duration", type=_at_least(0.001, float), help="stop after SECONDS")
    p.add_argument("--credentials-file", help="NATS .creds file")
    p.add_argument("--tls-ca-file", help="the authority that signed the NATS server's certificate")
    p.add_argument("--host-prefix", default="sim", help=argparse.SUPPRESS)
    p.add_argument("--shippers", type=_at_least(1, int), default=4, help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=_at_least(1, int), default=250, help=argparse.SUPPRESS)
    return p


async def _run_until_signalled(options: SimulatorOptions) -> None:
    await run_simulator(options, stop_event())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `mirror-agent simulate` and `python -m mirror_agent.simulate`."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = SimulatorOptions(
        hosts=int(args.hosts),
        nats_url=args.nats_url,
        interval=float(args.interval),
        seed=args.seed,
        duration=None if args.duration is None else float(args.duration),
        credentials_file=args.credentials_file,
        tls_ca_file=args.tls_ca_file,
        prefix=args.host_prefix,
        shippers=int(args.shippers),
        batch_size=int(args.batch_size),
    )
    asyncio.run(_run_until_signalled(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
