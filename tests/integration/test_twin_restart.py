"""A restarted twin: its hosts back from the checkpoint at once, the stream resumed where it was;
a twin far behind skips to the present."""

import asyncio
import os
import signal
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
from twin_helpers import running_twin

from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_derive import derive
from mirror_runtime.config import ServiceConfig
from mirror_schema import streams
from mirror_schema.samples import MetricSample
from mirror_twin.checkpoint import BUCKET, POSITION_KEY
from mirror_twin.config import TwinConfig
from mirror_twin.engine import TwinEngine
from mirror_twin.model.patches import significant
from waiting import wait_until

FAST_CHECKPOINTS = {"MIRROR_STAGE_TWIN_CHECKPOINT_SECONDS": "0.5"}


async def publish(url: str, samples: Iterable[MetricSample]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for envelope in map(envelope_of, samples):
            await js.publish(
                envelope.subject, envelope.payload, headers={"Nats-Msg-Id": envelope.msg_id}
            )
    finally:
        await nc.close()


async def newest_sample_older_than(url: str, seconds: float) -> None:
    """Wait until the newest sample in METRICS was stored more than `seconds` ago (the server
    stamps what it stores; a twin's lag is measured against that)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        last_seq = (await js.stream_info(streams.METRICS.name)).state.last_seq
        stored = (await js.get_msg(streams.METRICS.name, last_seq)).time
        assert stored is not None

        def old_enough() -> bool:
            return (datetime.now(UTC) - stored).total_seconds() > seconds

        await wait_until(old_enough, timeout=seconds + 10, what=f"the samples {seconds:g} s old")
    finally:
        await nc.close()


async def twin_hosts(base_url: str) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        state = (await http.get("/api/twin/state")).json()
    return {host["host_id"]: host for host in state["hosts"]}


async def saved_position(url: str) -> int | None:
    """The METRICS sequence the twin's checkpoint says it holds, None before the first save."""
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(BUCKET)
        entry = await kv.get(POSITION_KEY)
    except nats.js.errors.KeyNotFoundError:
        return None
    finally:
        await nc.close()
    assert entry.value is not None
    stream_seq: int = msgspec.json.decode(entry.value)["stream_seq"]
    return stream_seq


async def metrics_last_seq(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(streams.METRICS.name)
    finally:
        await nc.close()
    return info.state.last_seq


async def test_hosts_come_back_from_the_checkpoint_even_with_the_stream_gone(
    own_nats: str, tmp_path: Path
) -> None:
    """The first state after a restart holds every host known before, with its rates, though
    the samples are gone from METRICS: it came from the checkpoint, not from the stream."""
    fleet = SimulatedFleet(20, 3, interval=1.0, prefix="ck")
    start = datetime.now(UTC).timestamp() - 10
    await publish(own_nats, fleet.tick(start))
    async with running_twin(own_nats, tmp_path / "first.log", FAST_CHECKPOINTS) as twin:
        await publish(own_nats, fleet.tick(start + 1))  # the twin needs two samples for rates

        async def known_with_rates() -> bool:
            hosts = await twin_hosts(twin.spec.address)
            return len(hosts) == 20 and all(
                h["net_tx_bits_per_s"] is not None for h in hosts.values()
            )

        await wait_until(known_with_rates, timeout=15, what="20 hosts with rates")
        before = await twin_hosts(twin.spec.address)
        last_seq = await metrics_last_seq(own_nats)

        async def saved() -> bool:
            return await saved_position(own_nats) == last_seq

        await wait_until(saved, timeout=15, what="a checkpoint up to the last sample")
    # No one may purge METRICS (deny_purge): the admin deletes it, the twin makes it anew.
    nc = await nats.connect(own_nats)
    await nc.jetstream().delete_stream(streams.METRICS.name)
    await nc.close()

    async with running_twin(own_nats, tmp_path / "second.log", FAST_CHECKPOINTS) as twin:
        after = await twin_hosts(twin.spec.address)  # as soon as it answers

    assert sorted(after) == sorted(before)
    for host_id, host in before.items():
        for field in (
            "last_seen",
            "net_tx_bits_per_s",
            "net_rx_bits_per_s",
            "cpu_load",
            "layer",
            "position",
        ):
            assert after[host_id][field] == host[field], (host_id, field)


async def test_the_stream_is_resumed_where_the_twin_stopped(own_nats: str, tmp_path: Path) -> None:
    """Samples published while the twin was down are applied one by one after the restart, so
    a host's rate is from its last two samples, not from the checkpoint's to the newest."""
    fleet = SimulatedFleet(3, 8, interval=1.0, prefix="rs")
    start = datetime.now(UTC).timestamp() - 30
    before_stop = fleet.tick(start)
    await publish(own_nats, before_stop)
    async with running_twin(own_nats, tmp_path / "first.log", FAST_CHECKPOINTS) as twin:
        last_seq = await metrics_last_seq(own_nats)

        async def saved() -> bool:
            return await saved_position(own_nats) == last_seq

        await wait_until(saved, timeout=15, what="a checkpoint up to the last sample")
        assert len(await twin_hosts(twin.spec.address)) == 3
    while_down = [fleet.tick(start + 10), fleet.tick(start + 20)]
    for samples in while_down:
        await publish(own_nats, samples)

    async with running_twin(own_nats, tmp_path / "second.log", FAST_CHECKPOINTS) as twin:

        async def caught_up() -> bool:
            hosts = await twin_hosts(twin.spec.address)
            return all(
                datetime.fromisoformat(hosts[s.host_id or ""]["last_seen"]) == s.timestamp
                for s in while_down[1]
            )

        await wait_until(caught_up, timeout=15, what="the samples published while down")
        hosts = await twin_hosts(twin.spec.address)

    for first, middle, last in zip(before_stop, *while_down, strict=True):
        resumed = significant(derive(middle, last).total_tx_bits_per_second)
        skipped = significant(derive(first, last).total_tx_bits_per_second)
        assert resumed != skipped  # else this test could not tell the two apart
        assert hosts[last.host_id or ""]["net_tx_bits_per_s"] == resumed


async def test_a_twin_far_behind_skips_to_every_hosts_latest_sample(
    own_nats: str, tmp_path: Path
) -> None:
    """A twin frozen while 6,000 samples of 3 hosts arrive is, once thawed, more than
    MAX_LAG_SECONDS behind with more samples waiting than hosts: it skips to each host's
    latest sample instead of applying the backlog one by one, and shows the present."""
    fleet = SimulatedFleet(3, 5, interval=1.0, prefix="lag")
    start = datetime.now(UTC).timestamp() - 3000
    await publish(own_nats, fleet.tick(start))
    env = {"MIRROR_STAGE_TWIN_MAX_LAG_SECONDS": "0.5"}
    async with running_twin(own_nats, tmp_path / "twin.log", env) as twin:
        await wait_until(lambda: _count_hosts(twin.spec.address, 3), timeout=15, what="the 3 hosts")
        pid = twin.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            ticks = [fleet.tick(start + k) for k in range(1, 2001)]
            await publish(own_nats, (sample for tick in ticks for sample in tick))
            await newest_sample_older_than(own_nats, 1.0)  # the backlog is older than 0.5 s
        finally:
            os.kill(pid, signal.SIGCONT)

        async def latest_shown() -> bool:
            hosts = await twin_hosts(twin.spec.address)
            return all(
                datetime.fromisoformat(hosts[s.host_id or ""]["last_seen"]) == s.timestamp
                for s in ticks[-1]
            )

        await wait_until(latest_shown, timeout=30, what="every host's latest sample")
        async with httpx.AsyncClient(base_url=twin.spec.address) as http:
            metrics = (await http.get("/metrics")).text
    skips = _metric(metrics, "mirror_twin_skips_to_latest_total")
    applied = _metric(metrics, "mirror_twin_samples_applied_total")
    assert skips >= 1
    assert applied < 3 + 6000 / 2, f"{applied:g} samples applied one by one"


async def _count_hosts(base_url: str, count: int) -> bool:
    return len(await twin_hosts(base_url)) == count


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in the twin's metrics")


async def test_a_skip_the_bus_refuses_is_tried_again_until_it_holds(own_nats: str) -> None:
    """The twin's skip to every host's latest sample, made while METRICS is gone (its
    consumer cannot be made), fails, waits and tries again; once the stream is back the twin
    follows it and shows a new sample: it does not stay without samples."""
    nc = await nats.connect(own_nats)
    config = TwinConfig(service=ServiceConfig(name="twin", http_port=1), twin_id="t")
    engine = TwinEngine(nc, config)
    try:
        await engine.start()
        js = nc.jetstream()
        await js.delete_stream(streams.METRICS.name)
        skipping = asyncio.create_task(engine.skip_to_latest())
        await wait_until(lambda: engine.follow_failures >= 1, timeout=15, what="a failed attempt")
        await streams.ensure_streams(js)
        fleet = SimulatedFleet(1, 9, interval=1.0, prefix="back")
        (sample,) = fleet.tick(datetime.now(UTC).timestamp())
        await publish(own_nats, [sample])
        await asyncio.wait_for(skipping, timeout=15)
        await wait_until(
            lambda: engine.state.host_ids() == [sample.host_id],
            timeout=15,
            what="the new sample applied",
        )
    finally:
        await engine.stop()
        await nc.close()


async def test_a_twin_starting_on_old_samples_takes_them_all_without_skipping(
    own_nats: str, tmp_path: Path
) -> None:
    """500 hosts whose latest samples are older than MAX_LAG_SECONDS when a twin starts:
    every one is taken from the first delivery (the stream's state at the start is not a
    lag), with no skip that would start that delivery over and over."""
    fleet = SimulatedFleet(500, 6, interval=1.0, prefix="old")
    await publish(own_nats, fleet.tick(datetime.now(UTC).timestamp() - 60))
    await newest_sample_older_than(own_nats, 1.0)  # older than the 0.5 s below
    env = {"MIRROR_STAGE_TWIN_MAX_LAG_SECONDS": "0.5"}
    async with running_twin(own_nats, tmp_path / "twin.log", env) as twin:
        await wait_until(
            lambda: _count_hosts(twin.spec.address, 500), timeout=30, what="the 500 hosts"
        )
        async with httpx.AsyncClient(base_url=twin.spec.address) as http:
            metrics = (await http.get("/metrics")).text
    assert _metric(metrics, "mirror_twin_skips_to_latest_total") == 0
    assert _metric(metrics, "mirror_twin_samples_applied_total") == 500
