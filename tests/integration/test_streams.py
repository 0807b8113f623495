"""ensure_streams() against a real JetStream server, and Nats-Msg-Id deduplication."""

from datetime import UTC, datetime

import msgspec
import nats.aio.client
import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from mirror_schema import codec, streams, subjects
from mirror_schema.samples import MetricSample


async def test_ensure_streams_creates_every_stream(nc: nats.aio.client.Client, unique: str) -> None:
    """A first call creates every stream with the subjects and limits of its spec."""
    js = nc.jetstream()
    created = await streams.ensure_streams(js, prefix=f"T{unique}_", subject_prefix=f"t{unique}")
    specs = streams.stream_specs(prefix=f"T{unique}_", subject_prefix=f"t{unique}")
    assert sorted(created) == sorted(spec.name for spec in specs)
    for spec in specs:
        info = await js.stream_info(spec.name)
        assert sorted(info.config.subjects or []) == sorted(spec.subjects)
        assert info.config.duplicate_window == spec.duplicate_window_seconds
        assert info.config.max_bytes == spec.max_bytes


async def test_ensure_streams_is_idempotent(nc: nats.aio.client.Client, unique: str) -> None:
    """A second call changes nothing; a stream whose config drifted is put back."""
    js = nc.jetstream()
    names = {"prefix": f"T{unique}_", "subject_prefix": f"t{unique}"}
    await streams.ensure_streams(js, **names)
    assert await streams.ensure_streams(js, **names) == []
    metrics = f"T{unique}_{streams.METRICS.name}"
    drifted = (await js.stream_info(metrics)).config
    drifted.max_age = 3600.0
    await js.update_stream(drifted)
    assert await streams.ensure_streams(js, **names) == [metrics]
    assert (await js.stream_info(metrics)).config.max_age == streams.METRICS.max_age_seconds


async def test_the_real_streams_can_be_ensured(nc: nats.aio.client.Client) -> None:
    """Without test prefixes, the production names and subjects are accepted by the server."""
    js = nc.jetstream()
    await streams.ensure_streams(js)
    assert await streams.ensure_streams(js) == []
    info = await js.stream_info(streams.METRICS.name)
    assert info.config.subjects == [subjects.METRICS_RAW_ALL]


async def test_a_sample_published_twice_with_one_msg_id_is_stored_once(
    nc: nats.aio.client.Client, unique: str
) -> None:
    """A publisher's retry with the same Nats-Msg-Id is deduplicated by the stream."""
    js = nc.jetstream()
    await streams.ensure_streams(js, prefix=f"T{unique}_", subject_prefix=f"t{unique}")
    sample = MetricSample(
        hostname="web-01.example.com",
        timestamp=datetime.now(UTC),
        cpu_load=12.5,
        host_id="web-01",
        boot_id="b1",
        seq=7,
    )
    subject = f"t{unique}.{subjects.metrics_raw('web-01')}"
    headers = {"Nats-Msg-Id": codec.sample_msg_id("web-01", "b1", 7)}
    first = await js.publish(subject, codec.encode(sample), headers=headers)
    second = await js.publish(subject, codec.encode(sample), headers=headers)
    assert first.duplicate is not True
    assert second.duplicate is True
    assert second.seq == first.seq
    info = await js.stream_info(f"T{unique}_{streams.METRICS.name}")
    assert info.state.messages == 1
    stored = await js.get_last_msg(f"T{unique}_{streams.METRICS.name}", subject)
    assert codec.decode_sample(stored.data) == sample


async def test_commands_take_a_consumer_per_agent_past_the_server_default(
    nc: nats.aio.client.Client, unique: str
) -> None:
    """nats-server 2.15 caps a stream at 1,000 consumers unless it sets its own limit: a
    COMMANDS made before that limit is given it, and takes a 1,001st agent's consumer."""
    js = nc.jetstream()
    names = {"prefix": f"T{unique}_", "subject_prefix": f"t{unique}"}
    commands = next(
        spec for spec in streams.stream_specs(**names) if spec.name.endswith("_COMMANDS")
    )
    without_limit = msgspec.structs.replace(commands, max_consumers=None)
    await js.add_stream(streams._to_config(without_limit))

    async def add(k: int) -> None:
        await js.add_consumer(
            commands.name,
            ConsumerConfig(
                name=f"agent-h{k}",
                durable_name=f"agent-h{k}",
                filter_subject=f"{commands.subjects[0][:-1]}h{k}",
                ack_policy=AckPolicy.EXPLICIT,
            ),
        )

    try:
        for k in range(1000):
            await add(k)
        with pytest.raises(nats.js.errors.BadRequestError, match="maximum consumers"):
            await add(1000)
        assert commands.name in await streams.ensure_streams(js, **names)
        info = await js.stream_info(commands.name)
        assert info.config.max_consumers == streams.MAX_COMMAND_CONSUMERS
        await add(1000)
        assert (await js.stream_info(commands.name)).state.consumer_count == 1001
    finally:
        # The server is the session's: its 1,001 consumers go with the stream.
        await js.delete_stream(commands.name)
