"""python -m mirror_agent.simulate --hosts N: N simulated hosts with realistic, varying load."""

import argparse
import asyncio
import logging
import math
import random
import signal
import sys
import uuid
from datetime import UTC, datetime

import nats

from mirror_agent.publisher import Publisher
from mirror_agent.schedule import Schedule
from mirror_schema.metrics import Disk, Interface, MetricSample

log = logging.getLogger(__name__)

ROLES = ("core", "distribution", "access", "service")


def simulated_host_id(index: int) -> str:
    """Host id of simulated host number `index` (0-based)."""
    return f"sim-{index:04d}"


class SimulatedHost:
    """One host whose load follows a slow daily-like wave plus noise; counters only grow."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.host_id = simulated_host_id(index)
        self.rng = rng
        self.boot_id = uuid.uuid4().hex
        self.phase = rng.uniform(0, 2 * math.pi)
        self.base_load = rng.uniform(10, 60)
        self.memory_total = rng.choice((8, 16, 32, 64)) * 2**30
        self.disk_total = rng.choice((256, 512, 1024)) * 10**9
        self.disk_used = self.disk_total * rng.uniform(0.2, 0.8)
        self.speed_mbps = rng.choice((1000.0, 10000.0))
        self.bytes_sent = rng.randrange(10**9)
        self.bytes_recv = rng.randrange(10**9)
        self.role = ROLES[index % len(ROLES)]

    def sample(self, seq: int, interval: float, elapsed: float) -> MetricSample:
        """The next reading."""
        wave = math.sin(elapsed / 60.0 + self.phase)
        cpu = min(100.0, max(0.0, self.base_load + 25 * wave + self.rng.gauss(0, 5)))
        throughput = self.speed_mbps * 1e6 / 8 * max(0.0, 0.2 + 0.15 * wave)
        self.bytes_sent += int(throughput * interval * self.rng.uniform(0.5, 1.0))
        self.bytes_recv += int(throughput * interval * self.rng.uniform(0.5, 1.0))
        self.disk_used = min(self.disk_total, self.disk_used + self.rng.uniform(0, 1e6))
        memory_percent = min(100.0, max(0.0, 40 + 20 * wave + self.rng.gauss(0, 2)))
        return MetricSample(
            hostname=f"{self.host_id}.simulated",
            timestamp=datetime.now(UTC),
            cpu_load=round(cpu, 1),
            cpu_logical_cores=8,
            cpu_physical_cores=4,
            memory_used_percent=round(memory_percent, 1),
            memory_total_bytes=self.memory_total,
            memory_available_bytes=int(self.memory_total * (1 - memory_percent / 100)),
            swap_used_percent=0.0,
            load_average=round(cpu / 100 * 8, 2),
            uptime_seconds=elapsed,
            net_bytes_tx=self.bytes_sent,
            net_bytes_rx=self.bytes_recv,
            disks=[
                Disk(
                    device="/dev/sda1",
                    mountpoint="/",
                    fstype="ext4",
                    total_bytes=self.disk_total,
                    used_bytes=int(self.disk_used),
                    used_percent=round(100 * self.disk_used / self.disk_total, 1),
                )
            ],
            interfaces=[
                Interface(
                    name="eth0",
                    bytes_sent=self.bytes_sent,
                    bytes_recv=self.bytes_recv,
                    speed_mbps=self.speed_mbps,
                )
            ],
            temperatures={"cpu": round(35 + cpu * 0.4, 1)},
            agent_version="simulator",
            platform="simulated",
            tags={"role": self.role, "simulated": "true"},
            host_id=self.host_id,
            boot_id=self.boot_id,
            seq=seq,
            interval_seconds=interval,
        )


async def simulate(nats_url: str, hosts: int, interval: float, seed: int) -> None:
    """Publish a sample for every simulated host each interval until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rng = random.Random(seed)  # noqa: S311 - simulated load, not security
    fleet = [SimulatedHost(index, rng) for index in range(hosts)]
    nc = await nats.connect(nats_url, name="simulator", max_reconnect_attempts=-1)
    js = nc.jetstream()
    publishers = [Publisher(js, host.host_id) for host in fleet]
    schedule = Schedule(interval)
    elapsed = 0.0
    seq = 0
    log.info("simulator.started hosts=%d interval_seconds=%s", hosts, interval)
    try:
        while not stop.is_set():
            seq += 1
            await asyncio.gather(
                *(
                    publisher.publish(host.sample(seq, interval, elapsed))
                    for host, publisher in zip(fleet, publishers, strict=True)
                )
            )
            delay = schedule.next_delay()
            elapsed += interval
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass
    finally:
        await nc.drain()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m mirror_agent.simulate`."""
    parser = argparse.ArgumentParser(prog="mirror_agent.simulate", description=__doc__)
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.hosts < 1 or args.interval < 0.5:
        parser.error("--hosts must be at least 1 and --interval at least 0.5")
    asyncio.run(simulate(args.nats_url, args.hosts, args.interval, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
