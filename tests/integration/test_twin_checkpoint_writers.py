"""Twin replicas sharing one checkpoint: a replica behind the others never takes it back in
time, whether it stands by or takes over the writing, and a twin restarted afterwards starts
from the newest state saved."""

import asyncio
from datetime import UTC, datetime

import nats
from nats.aio.msg import Msg
from twin_helpers import publish_tick

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_runtime.config import ServiceConfig
from mirror_schema import streams
from mirror_twin.checkpoint import Checkpoint, CheckpointStore, StreamPosition
from mirror_twin.config import TwinConfig
from mirror_twin.engine import TwinEngine
from waiting import wait_until

HOSTS = 20


def twin_config(twin_id: str) -> TwinConfig:
    return TwinConfig(
        service=ServiceConfig(name="twin", http_port=1),
        twin_id=twin_id,
        checkpoint_interval_seconds=0.5,
    )


class LaggingTwin(TwinEngine):
    """The twin as it runs, except that it applies no sample past ``limit``: a replica
    behind the others (slower, or replaying after a restart)."""

    def __init__(self, nc: nats.aio.client.Client, config: TwinConfig) -> None:
        super().__init__(nc, config)
        self.limit = 0
        self._limit_moved = asyncio.Condition()

    async def on_sample(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        async with self._limit_moved:
            await self._limit_moved.wait_for(lambda: seq <= self.limit)
        await super().on_sample(msg)

    async def apply_up_to(self, seq: int) -> None:
        async with self._limit_moved:
            self.limit = seq
            self._limit_moved.notify_all()


async def saved(url: str) -> Checkpoint:
    nc = await nats.connect(url)
    try:
        store = CheckpointStore(nc)
        await store.open()
        return await store.load()
    finally:
        await nc.close()


def saved_at(checkpoint: Checkpoint) -> set[float]:
    """The distinct times of the hosts' latest samples in ``checkpoint``."""
    return {host.latest.timestamp.timestamp() for host in checkpoint.hosts}


async def wait_for_checkpoint(url: str, stream_seq: int, at: float, what: str) -> None:
    async def there() -> bool:
        checkpoint = await saved(url)
        return checkpoint.stream_seq == stream_seq and saved_at(checkpoint) == {at}

    await wait_until(there, timeout=20, what=what)


async def test_a_replica_behind_never_takes_the_checkpoint_back(own_nats: str) -> None:
    fleet = SimulatedFleet(HOSTS, 3, interval=1.0, prefix="ckw")
    t0 = float(int(datetime.now(UTC).timestamp()) - 60)
    await publish_tick(own_nats, fleet, t0)
    leading_nc = await nats.connect(own_nats)
    lagging_nc = await nats.connect(own_nats)
    leading = TwinEngine(leading_nc, twin_config("leading"))
    lagging = LaggingTwin(lagging_nc, twin_config("lagging"))
    leading_stopped = False
    try:
        await leading.start()
        await wait_for_checkpoint(own_nats, HOSTS, t0, "the first replica's checkpoint of t0")
        await lagging.apply_up_to(HOSTS)
        await lagging.start()
        await wait_until(lambda: lagging.stream_seq == HOSTS, timeout=15, what="t0 in the second")

        # The first replica moves on to t2; the second stays at t1, saves what it holds, and
        # must not take the checkpoint back to t1.
        for k in (1, 2):
            await publish_tick(own_nats, fleet, t0 + k)
        await wait_for_checkpoint(own_nats, 3 * HOSTS, t0 + 2, "the first replica's t2")
        await lagging.apply_up_to(2 * HOSTS)
        await wait_until(lambda: lagging.stream_seq == 2 * HOSTS, timeout=15, what="t1 applied")
        await lagging.save_checkpoint()
        checkpoint = await saved(own_nats)
        assert checkpoint.stream_seq == 3 * HOSTS, "the position went back"
        assert saved_at(checkpoint) == {t0 + 2}, "hosts were overwritten with older samples"

        # The first replica stops and hands over: the second takes over still at t1, and
        # writes nothing until it has caught up with what the first could have saved.
        await leading.stop()
        leading_stopped = True
        await wait_until(
            lambda: lagging.checkpoint_writer.holds_lease(),
            timeout=15,
            what="the second replica writing the checkpoint",
        )
        await lagging.save_checkpoint()
        checkpoint = await saved(own_nats)
        assert checkpoint.stream_seq == 3 * HOSTS, "the position went back after the takeover"
        assert saved_at(checkpoint) == {t0 + 2}, "older samples written after the takeover"

        # Caught up, it saves what comes next.
        await lagging.apply_up_to(2**62)
        await publish_tick(own_nats, fleet, t0 + 3)
        await wait_for_checkpoint(own_nats, 4 * HOSTS, t0 + 3, "the second replica's t3")
    finally:
        await lagging.stop()
        if not leading_stopped:
            await leading.stop()
        await lagging_nc.close()
        await leading_nc.close()

    # A twin restarted with no samples left to replay shows what was saved last: t3.
    nc = await nats.connect(own_nats)
    try:
        js = nc.jetstream()
        await js.delete_stream(streams.METRICS.name)
        await streams.ensure_streams(js)
        restarted = TwinEngine(nc, twin_config("restarted"))
        await restarted.start()
        try:
            held = [restarted.state.held(host_id) for host_id in restarted.state.host_ids()]
            assert len(held) == HOSTS
            assert {pair[0].timestamp.timestamp() for pair in held if pair is not None} == {t0 + 3}
        finally:
            await restarted.stop()
    finally:
        await nc.close()


async def test_the_saved_position_only_moves_forward(own_nats: str) -> None:
    """Whoever writes it: a smaller sequence of the same stream is refused, a larger one or
    one of a METRICS made anew is saved."""
    nc = await nats.connect(own_nats)
    try:
        store = CheckpointStore(nc)
        await store.open()
        created = (await nc.jetstream().stream_info(streams.METRICS.name)).created
        now = datetime.now(UTC)

        def at(seq: int, made: datetime | None = created) -> StreamPosition:
            return StreamPosition(stream_seq=seq, saved_at=now, stream_created=made)

        assert await store.advance_position(at(60))
        assert not await store.advance_position(at(40))
        assert not await store.advance_position(at(60))
        assert (await store.load()).stream_seq == 60
        assert await store.advance_position(at(80))
        assert (await store.load()).stream_seq == 80
        assert await store.advance_position(at(3, now))
        assert (await store.load()).stream_seq == 3
    finally:
        await nc.close()
