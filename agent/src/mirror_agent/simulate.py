"""Fleet simulator: N realistic hosts from one process, published through the agent's shipper."""

import argparse
import asyncio
import logging
import math
import random
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mirror_agent.agent import envelope_of
from mirror_agent.buffer import MemoryBuffer
from mirror_agent.schedule import Schedule
from mirror_agent.shipper import Shipper
from mirror_agent.transport import NatsTransport
from mirror_schema.metrics import (
    Disk,
    DiskIo,
    Gpu,
    Interface,
    MetricSample,
    Position,
    TopProcess,
)

log = logging.getLogger(__name__)

HOSTS_PER_RACK = 20
RACKS_PER_ROW = 10
GIB = 2**30
DAY = 86_400.0
# Bytes per second per Mbit/s of link speed.
BYTES_PER_MBIT = 125_000
# A link never carries more than this fraction of its speed in one direction.
MAX_LINK_UTILISATION = 0.95
TIERS = ("web", "app", "db", "cache", "batch")
CPU_MODELS = (
    "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
    "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
    "AMD EPYC 7543 32-Core Processor",
    "AMD EPYC 9354 32-Core Processor",
)
SYSTEMS = (("Dell Inc.", "PowerEdge R650"), ("Supermicro", "SYS-120U-TNR"), ("HPE", "ProLiant DL360 Gen10"))
OS_NAMES = (("Ubuntu 22.04.4 LTS", "5.15.0-105-generic"), ("Debian GNU/Linux 12", "6.1.0-21-amd64"))
# (name, memory GiB, idle W, max W)
GPU_MODELS = (("NVIDIA A100-SXM4-80GB", 80, 60.0, 400.0), ("NVIDIA H100 80GB HBM3", 80, 70.0, 700.0), ("NVIDIA L4", 24, 16.0, 72.0))
PROCESSES = {
    "network": ("bird", "frr", "lldpd"),
    "web": ("nginx", "node", "filebeat"),
    "app": ("java", "gunicorn", "fluent-bit"),
    "db": ("postgres", "pgbouncer", "node_exporter"),
    "cache": ("redis-server", "memcached", "node_exporter"),
    "batch": ("spark-executor", "python3", "containerd"),
    "gpu": ("python3", "nvidia-persistenced", "dcgm-exporter"),
}


def simulated_host_id(index: int, prefix: str = "sim") -> str:
    """Host id of simulated host number `index` (0-based): `sim-0000`, `sim-0001`, ..."""
    return f"{prefix}-{index:04d}"


def _clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return low if value < low else high if value > high else value


def daily_factor(now: float, peak_hour: float) -> float:
    """0 at night, 1 at `peak_hour` (hours of the UTC day): the shape of a day's load."""
    hour = (now % DAY) / 3600.0
    return 0.5 + 0.5 * math.cos(2 * math.pi * (hour - peak_hour) / 24.0)


def _chance(rng: random.Random, elapsed: float, mean_seconds: float) -> bool:
    """Whether an event expected once per `mean_seconds` happens within `elapsed` seconds."""
    return rng.random() < 1.0 - math.exp(-elapsed / mean_seconds)


class _Disk:
    __slots__ = ("device", "fill_rate", "fstype", "mountpoint", "threshold", "total", "used")

    def __init__(self, rng: random.Random, device: str, mountpoint: str, fstype: str, total: int, leaking: bool) -> None:
        self.device, self.mountpoint, self.fstype, self.total = device, mountpoint, fstype, total
        self.used = total * rng.uniform(0.1, 0.7)
        # Cleanup (log rotation, pruning) starts once a disk passes its threshold.
        self.threshold = rng.uniform(0.96, 0.995) if leaking else rng.uniform(0.7, 0.92)
        hours_to_fill = rng.uniform(1, 4) if leaking else rng.uniform(12, 24 * 14)
        self.fill_rate = total * 0.8 / (hours_to_fill * 3600)

    def advance(self, rng: random.Random, elapsed: float) -> Disk:
        self.used = min(float(self.total), self.used + self.fill_rate * elapsed * rng.uniform(0.5, 1.5))
        if self.used >= self.total * self.threshold:
            self.used = self.total * rng.uniform(0.3, 0.6)
        used = int(self.used)
        return Disk(device=self.device, mountpoint=self.mountpoint, fstype=self.fstype, total_bytes=self.total,
                    used_bytes=used, used_percent=round(100.0 * used / self.total, 1))


class _Link:
    __slots__ = ("down_until", "drops", "errors", "name", "packet_size", "recv", "rx_share", "sent", "speed", "tx_share", "packets_recv", "packets_sent")

    def __init__(self, rng: random.Random, name: str, speed: float, busy: float) -> None:
        self.name, self.speed = name, speed
        self.tx_share, self.rx_share = busy * rng.uniform(0.3, 1.0), busy * rng.uniform(0.3, 1.0)
        self.packet_size = rng.uniform(400, 1400)
        self.down_until = 0.0
        self.reset()

    def reset(self) -> None:
        self.sent = self.recv = self.packets_sent = self.packets_recv = self.errors = self.drops = 0

    def advance(self, rng: random.Random, now: float, elapsed: float, load: float, flapping: bool) -> Interface:
        if flapping and now >= self.down_until and _chance(rng, elapsed, 3 * 3600):
            self.down_until = now + rng.uniform(30, 600)
        is_up = now >= self.down_until
        if is_up:
            capacity = self.speed * BYTES_PER_MBIT * elapsed
            tx = _clamp(self.tx_share * (0.25 + 0.75 * load) * rng.uniform(0.8, 1.2), 0.0, MAX_LINK_UTILISATION)
            rx = _clamp(self.rx_share * (0.25 + 0.75 * load) * rng.uniform(0.8, 1.2), 0.0, MAX_LINK_UTILISATION)
            sent, recv = int(capacity * tx), int(capacity * rx)
            self.sent += sent
            self.recv += recv
            self.packets_sent += int(sent / self.packet_size)
            self.packets_recv += int(recv / self.packet_size)
            if rng.random() < 0.01:
                self.errors += rng.randint(1, 5)
            if rng.random() < 0.02:
                self.drops += rng.randint(1, 50)
        return Interface(name=self.name, bytes_sent=self.sent, bytes_recv=self.recv, packets_sent=self.packets_sent,
                         packets_recv=self.packets_recv, errin=self.errors, dropin=self.drops, speed_mbps=self.speed, is_up=is_up)
