"""The simulated fleet: deterministic, valid, realistic (daily curve, counters, silences)."""

import itertools
import statistics
from collections import defaultdict

import pytest

from mirror_agent.simulate import parser
from mirror_agent.simulated_devices import BYTES_PER_MBIT, daily_factor
from mirror_agent.simulated_fleet import SimulatedFleet, SimulatedHost, simulated_host_id
from mirror_schema import codec
from mirror_schema.samples import MetricSample

START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
INTERVAL = 60.0


def run(fleet: SimulatedFleet, hours: float) -> list[list[MetricSample]]:
    """The ticks of `hours` of simulated time."""
    return [fleet.tick(START + n * INTERVAL) for n in range(int(hours * 3600 / INTERVAL))]


@pytest.fixture(scope="module")
def fleet_run() -> tuple[SimulatedFleet, list[list[MetricSample]]]:
    fleet = SimulatedFleet(200, seed=7, interval=INTERVAL, run_token="t-")
    return fleet, run(fleet, hours=4)


def by_host(ticks: list[list[MetricSample]]) -> dict[str, list[MetricSample]]:
    samples: dict[str, list[MetricSample]] = defaultdict(list)
    for tick in ticks:
        for sample in tick:
            assert sample.host_id is not None
            samples[sample.host_id].append(sample)
    return samples


def test_default_host_ids_keep_the_launchers_format() -> None:
    """The launcher finds the last simulated host as sim-NNNN."""
    assert simulated_host_id(0) == "sim-0000"
    assert simulated_host_id(41) == "sim-0041"
    assert simulated_host_id(3, "t1") == "t1-0003"


def test_a_seed_gives_the_same_fleet_and_samples() -> None:
    """Two fleets with one seed (and run token) publish byte-identical samples."""
    a, b = (SimulatedFleet(30, seed=3, run_token="x-") for _ in range(2))
    for n in range(20):
        now = START + n * INTERVAL
        assert [codec.encode(s) for s in a.tick(now)] == [codec.encode(s) for s in b.tick(now)]
    other = SimulatedFleet(30, seed=4, run_token="x-").tick(START)
    assert [s.cpu_load for s in other] != [s.cpu_load for s in a.tick(START + 20 * INTERVAL)]


def test_every_sample_decodes_under_the_schema(
    fleet_run: tuple[SimulatedFleet, list[list[MetricSample]]],
) -> None:
    """Hand-built Structs are not validated: each one must survive encode -> decode_sample."""
    _, ticks = fleet_run
    count = 0
    for tick in ticks:
        for sample in tick:
            assert codec.decode_sample(codec.encode(sample)) == sample
            count += 1
    assert count > 45_000


def test_counters_grow_within_a_boot_and_never_exceed_the_link(
    fleet_run: tuple[SimulatedFleet, list[list[MetricSample]]],
) -> None:
    """Interface counters only grow within one boot, by at most the link speed x the gap."""
    _, ticks = fleet_run
    for samples in by_host(ticks).values():
        for before, after in itertools.pairwise(samples):
            if after.boot_id != before.boot_id:
                continue
            assert after.seq == (before.seq or 0) + 1
            seconds = (after.timestamp - before.timestamp).total_seconds()
            for old, new in zip(before.interfaces, after.interfaces, strict=True):
                assert new.speed_mbps is not None
                capacity = new.speed_mbps * BYTES_PER_MBIT * seconds
                assert 0 <= new.bytes_sent - old.bytes_sent <= capacity
                assert 0 <= new.bytes_recv - old.bytes_recv <= capacity
                assert new.packets_sent >= old.packets_sent
                assert new.packets_recv >= old.packets_recv
                assert new.errin >= old.errin
                assert new.dropin >= old.dropin
            assert after.disk_io is not None
            assert before.disk_io is not None
            assert after.disk_io.read_bytes >= before.disk_io.read_bytes
            assert (after.uptime_seconds or 0) > (before.uptime_seconds or 0)


def test_hosts_go_silent_and_come_back_some_after_a_reboot(
    fleet_run: tuple[SimulatedFleet, list[list[MetricSample]]],
) -> None:
    """A silent host publishes nothing; it returns with its boot (seq goes on) or a new one."""
    _, ticks = fleet_run
    continued, rebooted = 0, 0
    for samples in by_host(ticks).values():
        for before, after in itertools.pairwise(samples):
            gap = (after.timestamp - before.timestamp).total_seconds()
            if gap <= INTERVAL:
                continue
            if after.boot_id == before.boot_id:
                continued += 1
                assert after.seq == (before.seq or 0) + 1
            else:
                rebooted += 1
                assert after.seq == 1
                assert (after.uptime_seconds or 0) < gap
                assert all(
                    i.bytes_sent <= j.bytes_sent
                    for i, j in zip(after.interfaces, before.interfaces, strict=True)
                )
    assert continued >= 3
    assert rebooted >= 3


def test_the_fleet_has_racks_roles_hot_hosts_and_gpus(
    fleet_run: tuple[SimulatedFleet, list[list[MetricSample]]],
) -> None:
    """Racks and role/tier tags lay the fleet out; a few hosts run hot; some carry GPUs."""
    _, ticks = fleet_run
    latest = {s.host_id: s for tick in ticks for s in tick}
    assert len({s.rack for s in latest.values()}) == 10
    assert {s.tags["role"] for s in latest.values()} == {
        "core",
        "distribution",
        "access",
        "service",
    }
    hot = [s for s in latest.values() if s.tags.get("profile") == "hot"]
    assert 1 <= len(hot) <= 20
    gpu_hosts = [s for s in latest.values() if s.gpus]
    assert 5 <= len(gpu_hosts) <= 40
    assert all(g.utilization_percent is not None for s in gpu_hosts for g in s.gpus)
    speeds = {i.speed_mbps for s in latest.values() for i in s.interfaces}
    assert {1_000.0, 10_000.0, 25_000.0, 40_000.0, 100_000.0} <= speeds
    samples = by_host(ticks)
    for s in hot:
        assert s.host_id is not None
        cpu = statistics.mean(x.cpu_load for x in samples[s.host_id])
        assert cpu > 70
        assert statistics.mean(x.temperatures["cpu"] for x in samples[s.host_id]) > 60


def test_disks_fill_and_are_cleaned_up_before_they_are_full() -> None:
    """Over two days disks grow, and cleanups keep them all below 100 %."""
    fleet = SimulatedFleet(100, seed=11, interval=600.0, run_token="t-")
    grew = cleaned = 0
    previous: dict[str, float] = {}
    for n in range(2 * 24 * 6):
        for sample in fleet.tick(START + n * 600.0):
            for disk in sample.disks:
                key = f"{sample.host_id}{disk.mountpoint}"
                assert disk.used_percent < 100
                if key in previous:
                    grew += disk.used_bytes > previous[key]
                    cleaned += disk.used_bytes < previous[key]
                previous[key] = disk.used_bytes
    assert grew > 10 * cleaned > 0


def test_load_follows_the_daily_curve() -> None:
    """A host is busier around its afternoon peak than twelve hours later, at night."""
    host = SimulatedHost(5, seed=2, interval=60.0)
    assert not host.hot
    day = START - START % 86_400
    peak = day + host.peak_hour * 3600
    busy = [host.cpu_load(peak + m * 60, 60.0) for m in range(-60, 60)]
    quiet = [host.cpu_load(peak + 12 * 3600 + m * 60, 60.0) for m in range(-60, 60)]
    assert statistics.mean(busy) > statistics.mean(quiet) + 5
    assert daily_factor(peak, host.peak_hour) == pytest.approx(1.0)
    assert daily_factor(peak + 12 * 3600, host.peak_hour) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "argv",
    [["--hosts", "0"], ["--hosts", "2", "--interval", "0.1"], ["--hosts", "x"], []],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    """Arguments are checked before anything connects."""
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_arguments_default_to_a_local_server() -> None:
    args = parser().parse_args(["--hosts", "3"])
    assert (args.nats_url, args.interval, args.duration) == ("nats://127.0.0.1:4222", 5.0, None)
