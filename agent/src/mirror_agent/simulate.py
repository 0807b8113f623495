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
from collections.abc import Callable, Sequence
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
SYSTEMS = (
    ("Dell Inc.", "PowerEdge R650"),
    ("Supermicro", "SYS-120U-TNR"),
    ("HPE", "ProLiant DL360 Gen10"),
)
OS_NAMES = (("Ubuntu 22.04.4 LTS", "5.15.0-105-generic"), ("Debian GNU/Linux 12", "6.1.0-21-amd64"))
# (name, memory GiB, idle W, max W)
GPU_MODELS = (
    ("NVIDIA A100-SXM4-80GB", 80, 60.0, 400.0),
    ("NVIDIA H100 80GB HBM3", 80, 70.0, 700.0),
    ("NVIDIA L4", 24, 16.0, 72.0),
)
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


# Per-core loads are looked up in tenths of a percent: building them is the simulator's hot loop.
_TENTHS_OFFSET = 1000
_TENTHS = [min(100.0, max(0.0, (i - _TENTHS_OFFSET) / 10)) for i in range(3001)]


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


class _Link:
    __slots__ = (
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

    def __init__(self, rng: random.Random, name: str, speed: float, busy: float) -> None:
        self.name, self.speed = name, speed
        self.tx_share, self.rx_share = busy * rng.uniform(0.3, 1.0), busy * rng.uniform(0.3, 1.0)
        self.packet_size = rng.uniform(400, 1400)
        self.down_until = 0.0
        self.reset()

    def reset(self) -> None:
        self.sent = self.recv = self.packets_sent = self.packets_recv = self.errors = self.drops = 0

    def advance(
        self, rng: random.Random, now: float, elapsed: float, load: float, flapping: bool
    ) -> Interface:
        if flapping and now >= self.down_until and _chance(rng, elapsed, 3 * 3600):
            self.down_until = now + rng.uniform(30, 600)
        is_up = now >= self.down_until
        if is_up:
            capacity = self.speed * BYTES_PER_MBIT * elapsed
            tx = _clamp(
                self.tx_share * (0.25 + 0.75 * load) * (0.8 + 0.4 * rng.random()),
                0.0,
                MAX_LINK_UTILISATION,
            )
            rx = _clamp(
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
        )


def _link_speeds(rng: random.Random, role: str, gpu: bool) -> tuple[float, ...]:
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


class _Gpus:
    """The GPUs of one host, busy with a training job or idle, as a whole."""

    __slots__ = ("busy", "count", "memory", "model", "temperature")

    def __init__(self, rng: random.Random, count: int) -> None:
        self.model = rng.choice(GPU_MODELS)
        self.count = count
        self.busy = rng.random() < 0.6
        self.memory = self.model[1] * GIB
        self.temperature = 35.0

    def advance(self, rng: random.Random, elapsed: float, ambient: float) -> list[Gpu]:
        if _chance(rng, elapsed, 40 * 60 if self.busy else 15 * 60):
            self.busy = not self.busy
        name, _, idle_watts, max_watts = self.model
        gpus = []
        for index in range(self.count):
            util = _clamp(rng.gauss(93, 4)) if self.busy else 3 * rng.random()
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


class SimulatedHost:
    """One host: static hardware and placement, and state that evolves sample by sample."""

    def __init__(
        self,
        index: int,
        seed: int,
        *,
        interval: float = 5.0,
        prefix: str = "sim",
        run_token: str = "",
    ) -> None:
        rng = self.rng = random.Random(f"{seed}:{index}")  # noqa: S311 - simulated load, not security
        self.index = index
        self.interval = interval
        self.host_id = simulated_host_id(index, prefix)
        self.hostname = f"{self.host_id}.sim.mirror-stage.local"
        self.run_token = run_token
        rack, slot = divmod(index, HOSTS_PER_RACK)
        row, column = divmod(rack, RACKS_PER_ROW)
        self.rack = f"r{row + 1:02d}-{column + 1:02d}"
        self.position = Position(x=column * 2.0, y=slot * 0.1, z=row * 4.0)
        if index < 2:
            self.role = "core"
        elif slot == 1 and rack % 4 == 0:
            self.role = "distribution"
        elif slot == 0:
            self.role = "access"
        else:
            self.role = "service"
        self.gpu_count = (
            rng.choice((1, 2, 4, 8)) if self.role == "service" and rng.random() < 0.08 else 0
        )
        self.hot = self.role == "service" and rng.random() < 0.04
        self.flaky = rng.random() < 0.05
        if self.role != "service":
            self.tier = "network"
        elif self.gpu_count:
            self.tier = "gpu"
        else:
            self.tier = rng.choice(TIERS)
        self.tags = {"role": self.role, "tier": self.tier, "simulated": "true"}
        if self.hot:
            self.tags["profile"] = "hot"
        self.peak_hour = 14.0 + rng.uniform(-2.5, 2.5)
        self.base_load = rng.uniform(78, 88) if self.hot else rng.uniform(3, 30)
        self.amplitude = rng.uniform(3, 8) if self.hot else rng.uniform(10, 45)
        self.noise = rng.uniform(1.5, 5.0)
        self.memory_base = rng.uniform(80, 90) if self.hot else rng.uniform(15, 60)
        self.ambient = 21.0 + (rack % 7) * 0.8 + rng.uniform(-1, 1)
        self.logical_cores = (
            rng.choice((64, 96, 128)) if self.gpu_count else rng.choice((4, 8, 16, 16, 32, 48))
        )
        bias = [rng.randint(-80, 80) for _ in range(self.logical_cores)]
        self.core_pattern = [b + rng.randint(-50, 50) for b in bias + bias]
        self.cpu_model = rng.choice(CPU_MODELS)
        self.max_mhz = rng.choice((2800.0, 3400.0, 3700.0))
        self.memory_total = (
            rng.choice((256, 512, 1024) if self.gpu_count else (16, 32, 64, 128, 256)) * GIB
        )
        self.swap_total = rng.choice((0, 2 * GIB, 8 * GIB))
        self.manufacturer, self.model = rng.choice(SYSTEMS)
        self.os_distro, self.os_kernel = rng.choice(OS_NAMES)
        leaking = rng.random() < 0.03
        self.disks = [
            _Disk(rng, "/dev/nvme0n1p2", "/", "ext4", rng.choice((240, 480, 960)) * 10**9, leaking)
        ]
        if self.tier in ("db", "batch", "gpu") or rng.random() < 0.3:
            self.disks.append(
                _Disk(
                    rng, "/dev/nvme1n1", "/data", "xfs", rng.choice((2, 4, 8, 16)) * 10**12, False
                )
            )
        busy = rng.uniform(0.05, 0.6)
        self.links = [
            _Link(rng, f"eth{n}", speed, busy if n == 0 else busy / 3)
            for n, speed in enumerate(_link_speeds(rng, self.role, self.gpu_count > 0))
        ]
        self.flapping = len(self.links) > 1 and rng.random() < 0.1
        self.gpus = _Gpus(rng, self.gpu_count) if self.gpu_count else None
        self.process_names = PROCESSES["network" if self.role != "service" else self.tier]
        self.process_memory = [rng.uniform(1, 20), rng.uniform(0.2, 5), rng.uniform(0.1, 1)]
        # Time-varying state.
        self.spike_until = 0.0
        self.spike_height = 0.0
        self.silent_until: float | None = None
        self.silence_began = 0.0
        self.temperature = self.ambient + 25
        self.boots = 0
        self.last: float | None = None
        self.boot(0.0)
        self.first_uptime = rng.uniform(3600, 90 * DAY)

    def boot(self, at: float) -> None:
        """Start a new boot at `at`: new boot id, seq from 1, counters from zero."""
        self.boots += 1
        self.boot_id = f"{self.run_token}{self.rng.getrandbits(64):016x}"
        self.seq = 0
        self.boot_time = at
        self.load = [0.0, 0.0, 0.0]
        self.disk_io = [0, 0, 0, 0]
        self.pids = sorted(self.rng.sample(range(300, 4_000_000), 3))
        for link in self.links:
            link.reset()

    def silent(self, now: float) -> bool:
        """Whether the host publishes nothing at `now`; decides silences and their end."""
        if self.silent_until is None:
            last = self.last if self.last is not None else now
            if not _chance(self.rng, now - last, 1800 if self.flaky else 3 * DAY):
                return False
            self.silence_began = last
            self.silent_until = last + self.rng.uniform(20, 300 if self.flaky else 900)
        if now < self.silent_until:
            return True
        self.silent_until = None
        if self.rng.random() < 0.4:
            # It rebooted: the counters restart from the moment the kernel came back.
            self.boot(max(self.silence_began, now - self.rng.uniform(5, 60)))
            self.last = self.boot_time
        return False

    def cpu_load(self, now: float, step: float) -> float:
        """Daily curve plus noise plus the current spike, in percent."""
        rng = self.rng
        if now >= self.spike_until and _chance(rng, step, 1800):
            self.spike_until = now + rng.uniform(10, 120)
            self.spike_height = rng.uniform(20, 60)
        spike = self.spike_height if now < self.spike_until else 0.0
        curve = self.base_load + self.amplitude * daily_factor(now, self.peak_hour)
        return _clamp(curve + rng.gauss(0, self.noise) + spike)

    def sample(self, now: float, timestamp: datetime | None = None) -> MetricSample | None:
        """The reading at `now` (epoch seconds), or None while the host is silent."""
        if self.silent(now):
            return None
        rng = self.rng
        if self.last is None:
            self.boot_time = now - self.first_uptime
            self.last = self.boot_time
        elapsed = max(now - self.last, 0.001)
        # Random events are drawn over at most a few minutes, however long the gap was.
        step = min(elapsed, 600.0)
        self.last = now
        self.seq += 1
        daily = daily_factor(now, self.peak_hour)
        cpu = self.cpu_load(now, step)
        cores = self.logical_cores
        # Fixed per-core offsets plus jitter: a random window over a longer pattern of both.
        start = int(rng.random() * cores)
        base = int(cpu * 10) + _TENTHS_OFFSET
        per_core = [_TENTHS[base + offset] for offset in self.core_pattern[start : start + cores]]
        for n, period in enumerate((60.0, 300.0, 900.0)):
            target = cpu / 100 * cores
            self.load[n] += (target - self.load[n]) * (1 - math.exp(-step / period))
        memory = _clamp(self.memory_base + 12 * daily + rng.gauss(0, 1))
        swap = _clamp((memory - 80) * 3) if self.swap_total else 0.0
        target = self.ambient + 12 + 0.5 * cpu + (12 if self.hot else 0)
        self.temperature += (target - self.temperature) * (1 - math.exp(-step / 60))
        io = self.disk_io
        reads, writes = int(2e6 * cpu * elapsed), int(1e6 * (cpu + 5) * elapsed)
        io[0] += reads
        io[1] += writes
        io[2] += reads // 16384
        io[3] += writes // 8192
        interfaces = [
            link.advance(rng, now, elapsed, daily, self.flapping and n > 0)
            for n, link in enumerate(self.links)
        ]
        names = self.process_names
        return MetricSample(
            hostname=self.hostname,
            timestamp=timestamp or datetime.fromtimestamp(now, UTC),
            cpu_load=round(cpu, 1),
            cpu_per_core=per_core,
            cpu_physical_cores=cores // 2,
            cpu_logical_cores=cores,
            cpu_model=self.cpu_model,
            memory_used_percent=round(memory, 1),
            memory_total_bytes=self.memory_total,
            memory_available_bytes=int(self.memory_total * (100 - memory) / 100),
            swap_used_percent=round(swap, 1),
            load_average=round(self.load[0], 2),
            uptime_seconds=round(now - self.boot_time, 1),
            net_bytes_tx=sum(i.bytes_sent for i in interfaces),
            net_bytes_rx=sum(i.bytes_recv for i in interfaces),
            disks=[disk.advance(rng, step) for disk in self.disks],
            interfaces=interfaces,
            temperatures={
                "cpu": round(self.temperature + rng.gauss(0, 0.3), 1),
                "inlet": round(self.ambient, 1),
            },
            top_processes=[
                TopProcess(
                    name=names[0],
                    pid=self.pids[0],
                    username="root",
                    cpu_percent=round(cpu * cores * 0.5, 1),
                    memory_percent=round(self.process_memory[0], 2),
                ),
                TopProcess(
                    name=names[1],
                    pid=self.pids[1],
                    username="root",
                    cpu_percent=round(cpu * cores * 0.1, 1),
                    memory_percent=round(self.process_memory[1], 2),
                ),
                TopProcess(
                    name=names[2],
                    pid=self.pids[2],
                    username="root",
                    cpu_percent=round(cpu * 0.02, 1),
                    memory_percent=round(self.process_memory[2], 2),
                ),
            ],
            agent_version="simulator",
            platform=f"Linux-{self.os_kernel}-x86_64",
            os_distro=self.os_distro,
            os_release=self.os_kernel,
            os_kernel="#1 SMP PREEMPT_DYNAMIC",
            system_model=self.model,
            system_manufacturer=self.manufacturer,
            tags=self.tags,
            rack=self.rack,
            position=self.position,
            host_id=self.host_id,
            boot_id=self.boot_id,
            seq=self.seq,
            interval_seconds=self.interval,
            load_average_5=round(self.load[1], 2),
            load_average_15=round(self.load[2], 2),
            cpu_freq_mhz=round(self.max_mhz * (0.4 + 0.6 * cpu / 100)),
            swap_total_bytes=self.swap_total,
            disk_io=DiskIo(
                read_bytes=io[0], write_bytes=io[1], read_count=io[2], write_count=io[3]
            ),
            gpus=self.gpus.advance(rng, step, self.ambient) if self.gpus else [],
        )


class SimulatedFleet:
    """`hosts` simulated hosts, deterministic for a seed (and run token, which marks boot ids)."""

    def __init__(
        self,
        hosts: int,
        seed: int,
        *,
        interval: float = 5.0,
        prefix: str = "sim",
        run_token: str = "",
    ) -> None:
        self.hosts = [
            SimulatedHost(i, seed, interval=interval, prefix=prefix, run_token=run_token)
            for i in range(hosts)
        ]

    def tick(self, now: float) -> list[MetricSample]:
        """The samples of every host that is not silent at `now` (epoch seconds)."""
        timestamp = datetime.fromtimestamp(now, UTC)
        return [s for host in self.hosts if (s := host.sample(now, timestamp)) is not None]

    def silent_count(self) -> int:
        """How many hosts are silent now."""
        return sum(1 for host in self.hosts if host.silent_until is not None)


# On stop, how long the shippers may keep sending what is buffered before the simulator exits.
STOP_GRACE_SECONDS = 5.0
SUMMARY_EVERY_SECONDS = 60.0
# Hosts sampled between two yields to the event loop, so acks are read while a tick is built.
HOSTS_PER_SLICE = 250


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """What to simulate and where to publish it."""

    hosts: int
    nats_url: str = "nats://127.0.0.1:4222"
    interval: float = 5.0
    seed: int = 1
    duration: float | None = None
    credentials_file: str | None = None
    prefix: str = "sim"
    shippers: int = 4
    batch_size: int = 500
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
    transport = NatsTransport(
        options.nats_url, name="mirror-simulator", credentials_file=options.credentials_file
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
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await asyncio.gather(*(shipper.wait_empty() for shipper in shippers))
            except TimeoutError:
                pass
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
    while not stop.is_set():
        now = time.time()  # wall clock: the daily curve follows the time of day
        timestamp = datetime.fromtimestamp(now, UTC)
        for start in range(0, len(routes), HOSTS_PER_SLICE):
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
    p.add_argument("--interval", type=_at_least(0.5, float), default=5.0, help="seconds")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same fleet")
    p.add_argument("--duration", type=_at_least(0.001, float), help="stop after SECONDS")
    p.add_argument("--credentials-file", help="NATS .creds file")
    p.add_argument("--host-prefix", default="sim", help=argparse.SUPPRESS)
    p.add_argument("--shippers", type=_at_least(1, int), default=4, help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=_at_least(1, int), default=500, help=argparse.SUPPRESS)
    return p


async def _run_until_signalled(options: SimulatorOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_simulator(options, stop)


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
        prefix=args.host_prefix,
        shippers=int(args.shippers),
        batch_size=int(args.batch_size),
    )
    asyncio.run(_run_until_signalled(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
