"""MetricSample: the original agent's payload decodes, ours round-trips, bad values are named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from mirror_schema import (
    Disk,
    DiskIo,
    Gpu,
    Interface,
    InterfaceAddress,
    MetricBatch,
    MetricSample,
    Position,
    TopProcess,
    decode_batch,
    decode_sample,
    decode_samples,
    encode,
)

CONTRACT_FIELDS = {
    # The original agent's fields (docs/design/contracts.md#messages).
    "hostname",
    "timestamp",
    "cpu_load",
    "cpu_per_core",
    "cpu_physical_cores",
    "cpu_logical_cores",
    "cpu_model",
    "memory_used_percent",
    "memory_total_bytes",
    "memory_available_bytes",
    "swap_used_percent",
    "load_average",
    "uptime_seconds",
    "net_bytes_tx",
    "net_bytes_rx",
    "disks",
    "interfaces",
    "temperatures",
    "top_processes",
    "agent_version",
    "platform",
    "os_distro",
    "os_release",
    "os_kernel",
    "system_model",
    "system_manufacturer",
    "tags",
    "rack",
    "position",
    # Ours adds.
    "host_id",
    "boot_id",
    "seq",
    "interval_seconds",
    "load_average_5",
    "load_average_15",
    "cpu_freq_mhz",
    "swap_total_bytes",
    "disk_io",
    "gpus",
}


def _full_sample() -> MetricSample:
    return MetricSample(
        hostname="gpu-07.lab.example",
        timestamp=datetime(2026, 11, 21, 22, 38, 23, 200069, tzinfo=timezone(timedelta(hours=2))),
        cpu_load=42.5,
        cpu_per_core=[40.0, 45.0],
        cpu_physical_cores=1,
        cpu_logical_cores=2,
        cpu_model="AMD EPYC",
        memory_used_percent=61.2,
        memory_total_bytes=64 * 2**30,
        memory_available_bytes=20 * 2**30,
        swap_used_percent=1.5,
        load_average=1.25,
        uptime_seconds=86_400.5,
        net_bytes_tx=1_000,
        net_bytes_rx=2_000,
        disks=[
            Disk(
                device="/dev/nvme0n1p2",
                mountpoint="/",
                fstype="ext4",
                total_bytes=1_000,
                used_bytes=500,
                used_percent=50.0,
            )
        ],
        interfaces=[
            Interface(
                name="eth0",
                bytes_sent=1,
                bytes_recv=2,
                packets_sent=3,
                packets_recv=4,
                errin=0,
                errout=0,
                dropin=0,
                dropout=0,
                speed_mbps=10_000.0,
                is_up=True,
                addresses=[
                    InterfaceAddress(family="ipv4", address="10.0.0.7", netmask="255.255.255.0"),
                    InterfaceAddress(family="mac", address="52:54:00:12:34:56"),
                ],
            )
        ],
        temperatures={"coretemp/Package id 0": 55.0, "nvme/Composite": 38.9},
        top_processes=[
            TopProcess(
                name="python", pid=1234, username="ml", cpu_percent=250.0, memory_percent=12.5
            )
        ],
        agent_version="1.0.0",
        platform="Linux-6.8-x86_64",
        os_distro="Debian GNU/Linux",
        os_release="12",
        os_kernel="6.8.0",
        system_model="R760",
        system_manufacturer="Dell",
        tags={"role": "gpu", "env": "lab"},
        rack="r1",
        position=Position(x=1.0, y=2.0, z=-0.5),
        host_id="gpu-07-lab-example",
        boot_id="4f1c2a9e-9f1b-4c1e-8c35-0d4f6f6b1a11",
        seq=17,
        interval_seconds=5.0,
        load_average_5=1.1,
        load_average_15=0.9,
        cpu_freq_mhz=3_200.0,
        swap_total_bytes=8 * 2**30,
        disk_io=DiskIo(
            read_bytes=10,
            write_bytes=20,
            read_count=1,
            write_count=2,
            read_time_ms=3,
            write_time_ms=4,
        ),
        gpus=[
            Gpu(
                index=0,
                name="NVIDIA H100",
                utilization_percent=97.0,
                memory_used_bytes=70 * 2**30,
                memory_total_bytes=80 * 2**30,
                temperature_celsius=71.0,
                power_watts=650.5,
            )
        ],
    )


def _minimal() -> dict[str, object]:
    return {"hostname": "vm", "timestamp": "2026-11-21T22:38:23Z", "cpu_load": 10.0}


def _decode_dict(payload: dict[str, object]) -> MetricSample:
    return decode_sample(json.dumps(payload).encode())


def test_sample_has_every_field_of_the_contracts() -> None:
    """MetricSample declares every field docs/design/contracts.md lists, original and ours."""
    assert set(MetricSample.__struct_fields__) >= CONTRACT_FIELDS


def test_reference_agent_payload_decodes(agent_payload: bytes) -> None:
    """The original agent's real payload decodes unchanged as a MetricSample."""
    sample = decode_sample(agent_payload)
    assert sample.hostname == "vm"
    assert sample.timestamp == datetime(2026, 11, 21, 22, 38, 23, 200069, tzinfo=UTC)
    assert sample.cpu_load == 50.0
    assert sample.disks[0].used_percent == 22.6
    assert sample.interfaces[0].speed_mbps is None
    assert sample.interfaces[1].is_up is False
    assert sample.tags == {"primary_interface": "lo", "primary_disk": "/dev/vda"}
    assert sample.top_processes[0].name == "process_api"
    assert sample.rack is None
    assert sample.position is None
    assert sample.gpus == []
    assert sample.host_id is None


def test_reference_payload_survives_a_round_trip(agent_payload: bytes) -> None:
    """Re-encoding the decoded reference payload decodes to an equal sample."""
    sample = decode_sample(agent_payload)
    assert decode_sample(encode(sample)) == sample


def test_full_sample_round_trips() -> None:
    """A sample with every field set encodes and decodes to an equal sample."""
    sample = _full_sample()
    assert decode_sample(encode(sample)) == sample


def test_minimal_sample_needs_only_hostname_timestamp_cpu_load() -> None:
    """hostname, timestamp and cpu_load suffice; scalars default to None, collections to empty."""
    sample = _decode_dict(_minimal())
    assert sample.memory_used_percent is None
    assert sample.disks == []
    assert sample.tags == {}
    assert decode_sample(encode(sample)) == sample


def test_unknown_fields_are_ignored() -> None:
    """A newer agent's extra field does not break an older decoder."""
    sample = _decode_dict({**_minimal(), "from_the_future": {"x": 1}})
    assert sample.hostname == "vm"


def test_batch_and_list_round_trip() -> None:
    """MetricBatch and a bare list of samples round-trip."""
    batch = MetricBatch(samples=[_full_sample(), _decode_dict(_minimal())])
    assert decode_batch(encode(batch)) == batch
    assert decode_samples(encode(batch.samples)) == batch.samples


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpu_load": 250}, "Expected `float` <= 100.0 - at `$.cpu_load`"),
        ({"cpu_load": -1}, "Expected `float` >= 0.0 - at `$.cpu_load`"),
        ({"cpu_load": "high"}, "Expected `float`, got `str` - at `$.cpu_load`"),
        ({"memory_total_bytes": -5}, "- at `$.memory_total_bytes`"),
        ({"cpu_per_core": [10, 101]}, "- at `$.cpu_per_core[1]`"),
        ({"tags": {"role": 1}}, "Expected `str`, got `int` - at `$.tags[...]`"),
        ({"host_id": "Not.Valid"}, "- at `$.host_id`"),
        ({"timestamp": "2026-11-21T22:38:23"}, "timezone component - at `$.timestamp`"),
        ({"timestamp": "yesterday"}, "Invalid RFC3339 encoded datetime - at `$.timestamp`"),
    ],
)
def test_bad_value_fails_naming_its_path(change: dict[str, object], message: str) -> None:
    """A bad value raises a ValidationError whose message names the field path."""
    with pytest.raises(msgspec.ValidationError) as info:
        _decode_dict({**_minimal(), **change})
    assert message in str(info.value)


def test_missing_hostname_is_named() -> None:
    """A sample without hostname fails naming the missing field."""
    payload = _minimal()
    del payload["hostname"]
    with pytest.raises(msgspec.ValidationError, match="missing required field `hostname`"):
        _decode_dict(payload)


def test_bad_value_in_nested_list_names_index_and_field() -> None:
    """A bad disk percent names `$.disks[0].used_percent`."""
    disk = {"device": "/dev/sda", "mountpoint": "/", "used_percent": 140.0}
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.disks\[0\]\.used_percent`"):
        _decode_dict({**_minimal(), "disks": [disk]})


def test_bad_gpu_value_names_its_path() -> None:
    """A GPU utilization over 100 names `$.gpus[1].utilization_percent`."""
    gpus = [{"index": 0}, {"index": 1, "utilization_percent": 180}]
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.gpus\[1\]\.utilization_percent`"):
        _decode_dict({**_minimal(), "gpus": gpus})


def test_bad_sample_in_batch_names_its_index() -> None:
    """In a batch, the error names the sample's index, as the ingest's 422 needs."""
    body = {"samples": [_minimal(), {**_minimal(), "cpu_load": 250}]}
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.samples\[1\]\.cpu_load`"):
        decode_batch(json.dumps(body).encode())


def test_process_cpu_percent_may_exceed_100() -> None:
    """A process using several cores reports more than 100% (psutil semantics)."""
    process = {"name": "make", "pid": 9, "cpu_percent": 390.0}
    sample = _decode_dict({**_minimal(), "top_processes": [process]})
    assert sample.top_processes[0].cpu_percent == 390.0


def test_a_boot_id_that_could_break_a_header_is_refused() -> None:
    """boot_id goes into the Nats-Msg-Id header: spaces, CR/LF and non-ASCII are refused."""
    for bad in ("two words", "line\r\nX-Injected: 1", "boot\n", "bööt", "x" * 129):
        body = msgspec.json.encode(
            {"hostname": "h", "timestamp": "2026-01-01T00:00:00Z", "cpu_load": 1, "boot_id": bad}
        )
        with pytest.raises(msgspec.ValidationError, match=r"\$\.boot_id"):
            decode_sample(body)


def test_counters_stay_within_a_bigint() -> None:
    """Counters beyond PostgreSQL's BIGINT are refused at the edge, not by the history later."""
    body = msgspec.json.encode(
        {"hostname": "h", "timestamp": "2026-01-01T00:00:00Z", "cpu_load": 1, "seq": 2**63}
    )
    with pytest.raises(msgspec.ValidationError, match=r"\$\.seq"):
        decode_sample(body)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"load_average": 1e200}, "$.load_average"),
        ({"load_average_5": 1e7}, "$.load_average_5"),
        ({"uptime_seconds": 1e200}, "$.uptime_seconds"),
        ({"cpu_freq_mhz": 1e300}, "$.cpu_freq_mhz"),
        ({"temperatures": {"cpu": 1e200}}, "$.temperatures[...]"),
        ({"temperatures": {"cpu": -300.0}}, "$.temperatures[...]"),
        ({"interval_seconds": 1e9}, "$.interval_seconds"),
        ({"position": {"x": 1e300}}, "$.position.x"),
        ({"interfaces": [{"name": "eth0", "speed_mbps": 1e20}]}, "$.interfaces[0].speed_mbps"),
        ({"top_processes": [{"name": "x", "pid": 1, "cpu_percent": 1e20}]}, "cpu_percent"),
        ({"gpus": [{"index": 0, "temperature_celsius": 1e9}]}, "$.gpus[0].temperature_celsius"),
        ({"gpus": [{"index": 0, "power_watts": 1e300}]}, "$.gpus[0].power_watts"),
    ],
)
def test_every_reading_has_a_physical_bound(change: dict[str, object], path: str) -> None:
    """A huge reading (it would stall the history's rollups or overflow the twin's
    arithmetic) is refused at decode, naming the field."""
    with pytest.raises(msgspec.ValidationError) as info:
        _decode_dict({**_minimal(), **change})
    assert f"at `{path}" in str(info.value) or path in str(info.value)


def test_infinity_is_refused_by_convert_too() -> None:
    """msgspec.convert (a Python dict) can carry inf, which JSON cannot: still refused."""
    for field in ("load_average", "uptime_seconds", "cpu_freq_mhz"):
        with pytest.raises(msgspec.ValidationError, match=field):
            msgspec.convert({**_minimal(), field: float("inf")}, MetricSample)
