"""HostSensors and the pure helpers behind it: filesystems, routes, os-release, cpuinfo, NVML."""

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from mirror_agent.disks import Partition, is_pseudo_filesystem, real_partitions
from mirror_agent.gpus import GpuReader
from mirror_agent.network import default_route_interface, is_loopback, primary_interface
from mirror_agent.sensors import HostSensors, busy_and_total
from mirror_agent.system_info import (
    cpu_model_from_cpuinfo,
    pretty_name_from_os_release,
    read_system_info,
)
from mirror_schema.samples import Interface, InterfaceAddress


def part(device: str, mountpoint: str, fstype: str = "ext4") -> Partition:
    return Partition(device=device, mountpoint=mountpoint, fstype=fstype)


@pytest.mark.parametrize(
    "fstype",
    [
        *("tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "cgroup", "cgroup2"),
        *("nsfs", "autofs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "devpts", "mqueue"),
        "",
    ],
)
def test_pseudo_filesystems_are_not_disks(fstype: str) -> None:
    """Kernel, memory and helper filesystems are left out of disk usage."""
    assert is_pseudo_filesystem(fstype)


@pytest.mark.parametrize("fstype", ["ext4", "xfs", "btrfs", "zfs", "nfs4", "fuseblk", "vfat"])
def test_real_filesystems_are_disks(fstype: str) -> None:
    """Block, network and FUSE-block filesystems hold data and are reported."""
    assert not is_pseudo_filesystem(fstype)


def test_a_bind_mounted_device_is_counted_once_at_its_shortest_mountpoint() -> None:
    """Bind mounts repeat one device; only the shortest mountpoint is kept."""
    partitions = [
        part("/dev/vda", "/etc/hosts"),
        part("/dev/vda", "/"),
        part("tmpfs", "/dev/shm", "tmpfs"),
        part("/dev/vdb1", "/srv/data"),
        part("/dev/vdb1", "/var/lib/docker/volumes/x", "ext4"),
        part("cgroup", "/sys/fs/cgroup/cpu", "cgroup"),
    ]
    kept = real_partitions(partitions)
    assert [(p.device, p.mountpoint) for p in kept] == [
        ("/dev/vda", "/"),
        ("/dev/vdb1", "/srv/data"),
    ]


ROUTES = """Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
"""


def test_the_default_route_with_the_lowest_metric_wins() -> None:
    """Of two default routes the kernel uses the lower metric; so do we."""
    assert default_route_interface(ROUTES) == "eth0"


def test_no_default_route_gives_none() -> None:
    """A table with only link routes has no default interface."""
    only_link = ROUTES.splitlines()[0] + "\n" + ROUTES.splitlines()[3]
    assert default_route_interface(only_link) is None
    assert default_route_interface("") is None


def nic(name: str, traffic: int, *, up: bool = True, address: str | None = None) -> Interface:
    addresses = [InterfaceAddress(family="ipv4", address=address)] if address else []
    return Interface(name=name, bytes_sent=traffic, is_up=up, addresses=addresses)


def test_primary_interface_is_the_default_route_one() -> None:
    """The default route's interface is primary even with less traffic."""
    interfaces = [nic("eth0", 10), nic("eth1", 10_000)]
    primary = primary_interface(interfaces, "eth0")
    assert primary is not None
    assert primary.name == "eth0"


def test_without_a_route_the_busiest_up_non_loopback_interface_is_primary() -> None:
    """Loopback and down interfaces never win, whatever their traffic."""
    interfaces = [
        nic("lo", 10**9),
        nic("dummy0", 10**8, address="127.0.0.2"),
        nic("eth9", 10**8, up=False),
        nic("eth0", 500),
        nic("eth1", 50),
    ]
    primary = primary_interface(interfaces, None)
    assert primary is not None
    assert primary.name == "eth0"
    assert is_loopback(interfaces[1])
    assert primary_interface([nic("lo", 5)], None) is None


def test_os_release_pretty_name_is_unquoted() -> None:
    """PRETTY_NAME is read with its quotes removed."""
    text = 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    assert pretty_name_from_os_release(text) == "Debian GNU/Linux 12 (bookworm)"
    assert pretty_name_from_os_release("NAME=Alpine\n") is None


def test_cpu_model_comes_from_model_name_or_arm_hardware() -> None:
    """x86 cpuinfo has "model name"; ARM boards have "Model" or "Hardware"."""
    x86 = "processor\t: 0\nmodel\t\t: 49\nmodel name\t: AMD EPYC  7B12\n"
    arm = "processor\t: 0\nCPU part\t: 0xd08\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n"
    assert cpu_model_from_cpuinfo(x86) == "AMD EPYC 7B12"
    assert cpu_model_from_cpuinfo(arm) == "BCM2835"
    assert cpu_model_from_cpuinfo("processor : 0\n") is None


def test_system_info_with_no_files_falls_back_to_the_platform_module(tmp_path: Path) -> None:
    """Missing os-release, cpuinfo and DMI give the platform module's answers or None."""
    missing = tmp_path / "absent"
    info = read_system_info(os_release_paths=(missing,), cpuinfo_path=missing, dmi_dir=missing)
    assert info.os_distro  # platform.system()
    assert info.cpu_model  # platform.processor() or machine()
    assert info.system_model is None
    assert info.system_manufacturer is None


def test_dmi_placeholders_are_not_reported(tmp_path: Path) -> None:
    """Firmware filler such as "To Be Filled By O.E.M." says nothing; it becomes None."""
    (tmp_path / "product_name").write_text("To Be Filled By O.E.M.\n")
    (tmp_path / "sys_vendor").write_text("Dell Inc.\n")
    info = read_system_info(dmi_dir=tmp_path)
    assert info.system_model is None
    assert info.system_manufacturer == "Dell Inc."


def test_guest_time_is_not_counted_twice_and_iowait_is_idle() -> None:
    """Guest time is already in user; iowait is idle time (psutil's own rule)."""
    times = {"user": 10.0, "system": 5.0, "idle": 80.0, "iowait": 5.0, "guest": 4.0}
    cpu = busy_and_total(times)
    assert (cpu.busy, cpu.total) == (15.0, 100.0)


class FakeNvmlError(Exception):
    pass


def fake_nvml(*, init_fails: bool = False) -> Any:
    def not_supported(*_: object) -> Any:
        raise FakeNvmlError("NotSupported")

    def init() -> None:
        if init_fails:
            raise FakeNvmlError("Driver Not Loaded")

    return SimpleNamespace(
        NVMLError=FakeNvmlError,
        NVML_TEMPERATURE_GPU=0,
        nvmlInit=init,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda index: f"handle{index}",
        nvmlDeviceGetName=lambda handle: b"Tesla T4",
        nvmlDeviceGetUtilizationRates=lambda handle: SimpleNamespace(gpu=37),
        nvmlDeviceGetMemoryInfo=lambda handle: SimpleNamespace(used=1024, total=16 * 2**30),
        nvmlDeviceGetTemperature=lambda handle, sensor: 61,
        nvmlDeviceGetPowerUsage=not_supported,
    )


def test_an_nvml_gpu_is_read_and_an_unsupported_metric_is_none() -> None:
    """Each NVML metric is read on its own; one the board does not support is None."""
    (gpu,) = GpuReader(load=fake_nvml).read()
    assert (gpu.index, gpu.name, gpu.utilization_percent) == (0, "Tesla T4", 37.0)
    assert (gpu.memory_used_bytes, gpu.temperature_celsius) == (1024, 61.0)
    assert gpu.power_watts is None


def test_nvml_without_a_driver_reads_as_no_gpus() -> None:
    """The library installed without a driver is a host without GPUs, not an error."""
    assert GpuReader(load=lambda: fake_nvml(init_fails=True)).read() == []


def test_without_nvidia_ml_py_the_host_has_no_gpus() -> None:
    """pynvml is not installed here: the real sensors report an empty list."""
    assert HostSensors().gpus() == []


def test_host_sensors_fall_back_to_psutil_without_proc() -> None:
    """proc_root=None (or no /proc) reads the process table through psutil."""
    table = HostSensors(proc_root=None).processes()
    assert os.getpid() in {process.pid for process in table.processes}


def test_temperatures_are_empty_where_psutil_has_no_sensor_api() -> None:
    """psutil has no sensors_temperatures on macOS and Windows: an empty dict, no AttributeError."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(psutil, "sensors_temperatures", raising=False)
        assert HostSensors().temperatures() == {}


def test_temperatures_are_keyed_by_chip_and_label_or_index() -> None:
    """A sensor without a label is named by its index; NaN readings are dropped."""
    entry = SimpleNamespace
    readings = {
        "coretemp": [entry(label="Package id 0", current=48.0), entry(label="", current=47.0)],
        "nvme": [entry(label="Composite", current=float("nan"))],
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psutil, "sensors_temperatures", lambda: readings, raising=False)
        temperatures = HostSensors().temperatures()
    assert temperatures == {"coretemp:Package id 0": 48.0, "coretemp:1": 47.0}
