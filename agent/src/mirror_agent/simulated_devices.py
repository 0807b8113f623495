"""Simulated devices of a host: disks that fill, links that carry traffic, GPUs that work."""

import math
import random

from mirror_schema.samples import Disk, Gpu, Interface, InterfaceAddress

GIB = 2**30
DAY = 86_400.0
# Bytes per second per Mbit/s of link speed.
BYTES_PER_MBIT = 125_000
# A link never carries more than this fraction of its speed in one direction.
MAX_LINK_UTILISATION = 0.95
# (name, memory GiB, idle W, max W)
GPU_MODELS = (
    ("NVIDIA A100-SXM4-80GB", 80, 60.0, 400.0),
    ("NVIDIA H100 80GB HBM3", 80, 70.0, 700.0),
    ("NVIDIA L4", 24, 16.0, 72.0),
)


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return low if value < low else high if value > high else value


def daily_factor(now: float, peak_hour: float) -> float:
    """0 at night, 1 at `peak_hour` (hours of the UTC day): the shape of a day's load."""
    hour = (now % DAY) / 3600.0
    return 0.5 + 0.5 * math.cos(2 * math.pi * (hour - peak_hour) / 24.0)


def chance(rng: random.Random, elapsed: float, mean_seconds: float) -> bool:
    """Whether an event expected once per `mean_seconds` happens within `elapsed` seconds."""
    return rng.random() < 1.0 - math.exp(-elapsed / mean_seconds)


class SimulatedDisk:
    __slots__ = ("device", "fill_rate", "fstype", "mountpoint", "threshold", "total", "used")

    def __init__(
        self,
        rng: random.Random,
        device: str,
        mountpoint: str,
        fstype: str,
        total: int,
        leaking: bool,
    ) -> None:
        self.device, self.mountpoint, self.fstype, self.total = device, mountpoint, fstype, total
        self.used = total * rng.uniform(0.1, 0.7)
        # Cleanup (log rotation, pruning) starts once a disk passes its threshold.
        self.threshold = rng.uniform(0.96, 0.995) if leaking else rng.uniform(0.7, 0.92)
        hours_to_fill = rng.uniform(1, 4) if leaking else rng.uniform(12, 24 * 14)
        self.fill_rate = total * 0.8 / (hours_to_fill * 3600)

    def advance(self, rng: random.Random, elapsed: float) -> Disk:
        self.used = min(
            float(self.total), self.used + self.fill_rate * elapsed * (0.5 + rng.random())
        )
        if self.used >= self.total * self.threshold:
            self.used = self.total * rng.uniform(0.3, 0.6)
        used = int(self.used)
        return Disk(
            device=self.device,
            mountpoint=self.mountpoint,
            fstype=self.fstype,
            total_bytes=self.total,
            used_bytes=used,
            used_percent=round(100.0 * used / self.total, 1),
        )


class SimulatedLink:
    __slots__ = (
        "addresses",
        "down_until",
        "drops",
        "errors",
        "name",
        "packet_size",
        "packets_recv",
        "packets_sent",
        "recv",
        "rx_share",
        "sent",
        "speed",
        "tx_share",
    )

    def __init__(
        self, rng: random.Random, name: str, speed: float, busy: float, address: str | None = None
    ) -> None:
        self.name, self.speed = name, speed
        self.addresses = (
            [InterfaceAddress(family="ipv4", address=address, netmask="255.0.0.0")]
            if address
            else []
        )
        self.tx_share, self.rx_share = busy * rng.uniform(0.3, 1.0), busy * rng.uniform(0.3, 1.0)
        self.packet_size = rng.uniform(400, 1400)
        self.down_until = 0.0
        self.reset()

    def reset(self) -> None:
        self.sent = self.recv = self.packets_sent = self.packets_recv = self.errors = self.drops = 0

    def advance(
        self, rng: random.Random, now: float, elapsed: float, load: float, flapping: bool
    ) -> Interface:
        if flapping and now >= self.down_until and chance(rng, elapsed, 3 * 3600):
            self.down_until = now + rng.uniform(30, 600)
        is_up = now >= self.down_until
        if is_up:
            capacity = self.speed * BYTES_PER_MBIT * elapsed
            tx = clamp(
                self.tx_share * (0.25 + 0.75 * load) * (0.8 + 0.4 * rng.random()),
                0.0,
                MAX_LINK_UTILISATION,
            )
            rx = clamp(
                self.rx_share * (0.25 + 0.75 * load) * (0.8 + 0.4 * rng.random()),
                0.0,
                MAX_LINK_UTILISATION,
            )
            sent, recv = int(capacity * tx), int(capacity * rx)
            self.sent += sent
            self.recv += recv
            self.packets_sent += int(sent / self.packet_size)
            self.packets_recv += int(recv / self.packet_size)
            if rng.random() < 0.01:
                self.errors += rng.randint(1, 5)
            if rng.random() < 0.02:
                self.drops += rng.randint(1, 50)
        return Interface(
            name=self.name,
            bytes_sent=self.sent,
            bytes_recv=self.recv,
            packets_sent=self.packets_sent,
            packets_recv=self.packets_recv,
            errin=self.errors,
            dropin=self.drops,
            speed_mbps=self.speed,
            is_up=is_up,
            addresses=self.addresses,
        )


def link_speeds(rng: random.Random, role: str, gpu: bool) -> tuple[float, ...]:
    """Link speeds in Mbit/s: the network tiers and GPU hosts on 25-100 Gbit/s, others 1-25."""
    if role == "core":
        return (100_000.0, 100_000.0)
    if role == "distribution":
        return (40_000.0, 40_000.0)
    if role == "access":
        return (rng.choice((10_000.0, 25_000.0)), 40_000.0)
    if gpu:
        return (100_000.0, 25_000.0)
    return (rng.choice((1_000.0, 10_000.0, 10_000.0, 25_000.0)),)


class SimulatedGpus:
    """The GPUs of one host, busy with a training job or idle, as a whole."""

    __slots__ = ("busy", "count", "memory", "model", "temperature")

    def __init__(self, rng: random.Random, count: int) -> None:
        self.model = rng.choice(GPU_MODELS)
        self.count = count
        self.busy = rng.random() < 0.6
        self.memory = self.model[1] * GIB
        self.temperature = 35.0

    def advance(self, rng: random.Random, elapsed: float, ambient: float) -> list[Gpu]:
        if chance(rng, elapsed, 40 * 60 if self.busy else 15 * 60):
            self.busy = not self.busy
        name, _, idle_watts, max_watts = self.model
        gpus = []
        for index in range(self.count):
            util = clamp(rng.gauss(93, 4)) if self.busy else 3 * rng.random()
            target = ambient + 8 + 0.55 * util
            self.temperature += (target - self.temperature) * (1 - math.exp(-elapsed / 120))
            used = int(self.memory * (0.6 + 0.35 * rng.random() if self.busy else 0.006))
            gpus.append(
                Gpu(
                    index=index,
                    name=name,
                    utilization_percent=round(util, 1),
                    memory_used_bytes=used,
                    memory_total_bytes=self.memory,
                    temperature_celsius=round(self.temperature + index * 0.7, 1),
                    power_watts=round(
                        idle_watts
                        + (max_watts - idle_watts) * util / 100 * (0.9 + 0.1 * rng.random()),
                        1,
                    ),
                )
            )
        return gpus
