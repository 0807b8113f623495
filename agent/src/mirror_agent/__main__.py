"""mirror-agent --config FILE: publish this host's telemetry until SIGTERM."""

import argparse
import asyncio
import logging
import signal
import socket
import sys
import uuid
from pathlib import Path

import nats

from mirror_agent.collector import Collector
from mirror_agent.config import AgentConfig, AgentConfigError, load_config
from mirror_agent.publisher import Publisher
from mirror_agent.schedule import Schedule
from mirror_schema.hosts import host_id_from_hostname

log = logging.getLogger(__name__)


async def run(config: AgentConfig) -> None:
    """Collect and publish on a drift-free schedule until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    hostname = config.hostname or socket.gethostname()
    host_id = config.host_id or host_id_from_hostname(hostname)
    nc = await nats.connect(config.nats_url, name=f"agent:{host_id}", max_reconnect_attempts=-1)
    publisher = Publisher(nc.jetstream(), host_id)
    collector = Collector(host_id=host_id, hostname=hostname, boot_id=uuid.uuid4().hex)
    schedule = Schedule(config.interval_seconds)
    log.info("agent.started host_id=%s interval_seconds=%s", host_id, config.interval_seconds)
    seq = 0
    try:
        while not stop.is_set():
            seq += 1
            sample = collector.collect(
                seq=seq, interval_seconds=config.interval_seconds, tags=config.tags
            )
            await publisher.publish(sample)
            try:
                async with asyncio.timeout(schedule.next_delay()):
                    await stop.wait()
            except TimeoutError:
                pass
    finally:
        await nc.drain()
        log.info("agent.stopped published=%d", publisher.published)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mirror-agent`; a bad config exits 2 with one message."""
    parser = argparse.ArgumentParser(prog="mirror-agent", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="the agent's TOML file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(args.config)
    except AgentConfigError as exc:
        print(f"mirror-agent: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
