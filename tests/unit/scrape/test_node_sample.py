"""node_exporter's exposition as a MetricSample: a real node_exporter 1.5's page, and the
arithmetic of CPU, memory, filesystems and interfaces checked on small hand-made pages."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mirror_schema import codec
from mirror_schema.samples import decode_sample
from mirror_scrape.node_sample import exporter_version, read_exposition, to_sample

PAGE = (Path(__file__).resolve().parents[2] / "fixtures" / "node-exporter-metrics.txt").read_text()
AT = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


def page(cpu: dict[tuple[str, str], float], extra: str = "") -> str:
    lines = [f'node_cpu_seconds_total{{cpu="{c}",mode="{m}"}} {v}' for (c, m), v in cpu.items()]
    return "\n".join(lines) + "\n" + extra


def test_a_real_page_gives_a_valid_sample_of_its_host() -> None:
    reading = read_exposition(PAGE)
    sample = to_sample(
        reading, None, host_id="vm", tags={"env": "lab"}, rack="r9", at=AT, seq=1, boot_id="b"
    )
    decode_sample(codec.encode(sample))  # valid against the schema, as consumers read it
    assert sample.source == "scrape"
    assert exporter_version(reading) == "1.5.0"
    assert sample.hostname == "vm"
    assert sample.cpu_logical_cores == 2
    assert 0 <= sample.cpu_load <= 100
    assert (sample.memory_total_bytes or 0) > 2**30
    assert [d.mountpoint for d in sample.disks] == ["/"]
    assert "eth0" in [i.name for i in sample.interfaces]
    assert (sample.tags["env"], sample.rack) == ("lab", "r9")
    assert (sample.uptime_seconds or 0) > 0


def test_cpu_load_is_the_busy_share_between_two_scrapes() -> None:
    before = read_exposition(page({("0", "idle"): 100, ("0", "user"): 100, ("0", "iowait"): 0}))
    after = read_exposition(page({("0", "idle"): 130, ("0", "user"): 160, ("0", "iowait"): 10}))
    # 100 s passed: 60 busy (user), 40 idle (idle and iowait both count as idle).
    sample = to_sample(after, before.baseline(), host_id="h", tags={}, at=AT)
    assert sample.cpu_load == pytest.approx(60.0)
    assert sample.cpu_per_core == [pytest.approx(60.0)]
    # The first scrape has no interval: the average since boot; so has the first after a reboot.
    assert to_sample(before, None, host_id="h", tags={}, at=AT).cpu_load == pytest.approx(50.0)
    rebooted = read_exposition(
        page(
            {("0", "idle"): 130, ("0", "user"): 160, ("0", "iowait"): 10},
            "node_boot_time_seconds 9\n",
        )
    )
    assert to_sample(
        rebooted, before.baseline(), host_id="h", tags={}, at=AT
    ).cpu_load == pytest.approx(53.33)


def test_hostile_values_are_left_out_and_one_device_is_one_disk() -> None:
    extra = """node_memory_MemTotal_bytes NaN
node_memory_MemAvailable_bytes +Inf
node_load1 -3
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1000
node_filesystem_free_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 400
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 300
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/kubelet/x"} 1000
node_filesystem_size_bytes{fstype="ext4",mountpoint="/nodevice"} 1000
node_network_receive_bytes_total{device="eth0"} +Inf
"""
    sample = to_sample(
        read_exposition(page({("0", "idle"): 1}, extra)), None, host_id="h", tags={}, at=AT
    )
    decode_sample(codec.encode(sample))  # what the ingest and the twin accept
    assert sample.memory_total_bytes is None
    assert sample.memory_used_percent is None
    assert sample.load_average == 0.0
    assert [d.mountpoint for d in sample.disks] == ["/"]
    assert sample.interfaces == []


def test_memory_filesystems_and_interfaces_follow_the_agents_rules() -> None:
    extra = """node_memory_MemTotal_bytes 1000
node_memory_MemAvailable_bytes 250
node_memory_SwapTotal_bytes 0
node_memory_SwapFree_bytes 0
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1000
node_filesystem_free_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 400
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 300
node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 1000
node_network_receive_bytes_total{device="eth0"} 7
node_network_transmit_bytes_total{device="eth0"} 9
node_network_up{device="eth0"} 1
node_network_speed_bytes{device="eth0"} 125000000
node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"} 41.5
"""
    sample = to_sample(
        read_exposition(page({("0", "idle"): 1}, extra)), None, host_id="h", tags={}, at=AT
    )
    assert sample.memory_used_percent == 75.0
    assert sample.swap_used_percent == 0.0
    (disk,) = sample.disks  # tmpfs is a pseudo filesystem, as the agent skips it
    # used = size - free = 600; percent = used / (used + available) = 600 / 900, as df says
    assert (disk.used_bytes, disk.used_percent) == (600, 66.7)
    (eth0,) = sample.interfaces
    assert (eth0.bytes_recv, eth0.bytes_sent, eth0.is_up, eth0.speed_mbps) == (7, 9, True, 1000.0)
    assert sample.net_bytes_rx == 7
    assert sample.temperatures == {"platform_coretemp_0/temp1": 41.5}


def test_a_page_that_is_not_the_exposition_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a node_exporter's metrics"):
        read_exposition("<html>not metrics</html>\n{")
    with pytest.raises(ValueError, match="could not convert"):
        read_exposition('node_cpu_seconds_total{cpu="0",mode="idle"} not-a-number\n')
