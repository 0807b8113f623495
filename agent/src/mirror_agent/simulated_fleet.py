"""The simulated fleet: realistic, deterministic hosts (a pure model, no I/O)."""

import math
import random
from datetime import UTC, datetime

from mirror_agent.simulated_devices import (
    DAY,
    GIB,
    SimulatedDisk,
    SimulatedGpus,
    SimulatedLink,
    chance,
    clamp,
    daily_factor,
    link_speeds,
)
from mirror_schema.samples import (
    DiskIo,
    MetricSample,
    TopProcess,
)

HOSTS_PER_RACK = 20
RACKS_PER_ROW = 10
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
            SimulatedDisk(
                rng, "/dev/nvme0n1p2", "/", "ext4", rng.choice((240, 480, 960)) * 10**9, leaking
            )
        ]
        if self.tier in ("db", "batch", "gpu") or rng.random() < 0.3:
            self.disks.append(
                SimulatedDisk(
                    rng, "/dev/nvme1n1", "/data", "xfs", rng.choice((2, 4, 8, 16)) * 10**12, False
                )
            )
        busy = rng.uniform(0.05, 0.6)
        self.links = [
            SimulatedLink(
                rng,
                f"eth{n}",
                speed,
                busy if n == 0 else busy / 3,
                # 10.0.0.0/8, one address a host on its first link: what an operator searches.
                address=f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
                if n == 0
                else None,
            )
            for n, speed in enumerate(link_speeds(rng, self.role, self.gpu_count > 0))
        ]
        self.flapping = len(self.links) > 1 and rng.random() < 0.1
        self.gpus = SimulatedGpus(rng, self.gpu_count) if self.gpu_count else None
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
            if not chance(self.rng, now - last, 1800 if self.flaky else 3 * DAY):
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
        if now >= self.spike_until and chance(rng, step, 1800):
            self.spike_until = now + rng.uniform(10, 120)
            self.spike_height = rng.uniform(20, 60)
        spike = self.spike_height if now < self.spike_until else 0.0
        curve = self.base_load + self.amplitude * daily_factor(now, self.peak_hour)
        return clamp(curve + rng.gauss(0, self.noise) + spike)

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
        memory = clamp(self.memory_base + 12 * daily + rng.gauss(0, 1))
        swap = clamp((memory - 80) * 3) if self.swap_total else 0.0
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
                    name=names[n],
                    pid=self.pids[n],
                    username="root",
                    cpu_percent=round(cpu * share, 1),
                    memory_percent=round(self.process_memory[n], 2),
                )
                # The main workload, a helper, and a small agent-like process.
                for n, share in enumerate((cores * 0.5, cores * 0.1, 0.02))
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
            # No position: the twin spreads hosts over their layer (mirror_twin.model.layout).
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
