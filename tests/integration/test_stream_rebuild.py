"""Durability per stream: METRICS flushed asynchronously on a single server, the rest synced,
and a stream made before that rebuilt to it without losing a message or a consumer's place."""

import os
from pathlib import Path

import msgspec
import nats.aio.client
import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, PersistMode

from mirror_schema import streams
from mirror_schema.stream_rebuild import StreamRebuilder, snapshot_path, write_snapshot

MESSAGES = 50
ACKED = 20


def names(unique: str) -> dict[str, str]:
    return {"prefix": f"T{unique}_", "subject_prefix": f"t{unique}"}


def as_before(spec: streams.StreamSpec) -> streams.StreamSpec:
    """The stream as releases before per-stream durability made it: synced."""
    return msgspec.structs.replace(spec, single_server_writes="synced")


async def old_metrics_with_a_consumer(nc: nats.aio.client.Client, unique: str) -> tuple[str, str]:
    """A METRICS made synced, holding MESSAGES samples, ACKED of them acknowledged by a durable
    consumer; its name and subject."""
    js = nc.jetstream()
    spec = next(
        s for s in streams.stream_specs(**names(unique)) if s.name.endswith(streams.METRICS.name)
    )
    await streams.add_stream(js, streams._to_config(as_before(spec)))
    subject = f"t{unique}.metrics.raw.web-01"
    for n in range(MESSAGES):
        await js.publish(subject, f"sample {n}".encode())
    await js.add_consumer(
        spec.name, ConsumerConfig(durable_name="history", ack_policy=AckPolicy.EXPLICIT)
    )
    pull = await js.pull_subscribe_bind("history", spec.name)
    for msg in await pull.fetch(ACKED, timeout=5):
        await msg.ack_sync()
    return spec.name, subject


async def test_a_fresh_single_server_flushes_metrics_asynchronously_and_syncs_the_rest(
    nc: nats.aio.client.Client, unique: str
) -> None:
    js = nc.jetstream()
    await streams.ensure_streams(js, **names(unique))
    for spec in streams.stream_specs(**names(unique)):
        mode = (await js.stream_info(spec.name)).config.persist_mode
        expected = PersistMode.ASYNC if spec.name.endswith("_METRICS") else None
        assert mode == expected, spec.name


def test_a_replicated_stream_is_never_asked_to_flush_asynchronously() -> None:
    (metrics,) = (s for s in streams.stream_specs(replicas=3) if s.name == "METRICS")
    assert metrics.single_server_writes == "async"
    assert not metrics.persist_async
    assert streams._to_config(metrics).persist_mode is None


async def test_a_stream_made_synced_is_rebuilt_keeping_messages_and_consumer_positions(
    nc: nats.aio.client.Client, unique: str, tmp_path: Path
) -> None:
    js = nc.jetstream()
    name, subject = await old_metrics_with_a_consumer(nc, unique)
    before = await js.stream_info(name)
    # Without a rebuilder (a service's identity) the stream is left as it is.
    await streams.ensure_streams(js, **names(unique))
    assert (await js.stream_info(name)).config.persist_mode is None

    changed = await streams.ensure_streams(
        js, **names(unique), rebuilder=StreamRebuilder(nc, tmp_path)
    )
    assert name in changed
    after = await js.stream_info(name)
    assert after.config.persist_mode == PersistMode.ASYNC
    assert after.config.subjects == before.config.subjects
    assert (after.state.first_seq, after.state.last_seq, after.state.messages) == (
        before.state.first_seq,
        before.state.last_seq,
        MESSAGES,
    )
    consumer = await js.consumer_info(name, "history")
    assert consumer.ack_floor.stream_seq == ACKED
    pull = await js.pull_subscribe_bind("history", name)
    (next_one,) = await pull.fetch(1, timeout=5)
    assert next_one.data == f"sample {ACKED}".encode()
    # Writes go on after it, in sequence; nothing of the rebuild is left on disk.
    ack = await js.publish(subject, b"after the rebuild")
    assert ack.seq == before.state.last_seq + 1
    assert os.listdir(tmp_path) == []
    assert (
        await streams.ensure_streams(js, **names(unique), rebuilder=StreamRebuilder(nc, tmp_path))
        == []
    )


async def test_a_rebuild_stopped_after_its_delete_is_restored_from_its_snapshot(
    nc: nats.aio.client.Client, unique: str, tmp_path: Path
) -> None:
    js = nc.jetstream()
    name, _ = await old_metrics_with_a_consumer(nc, unique)
    before = await js.stream_info(name)
    # The launcher stopped between the delete and the restore: the snapshot is the only copy.
    await write_snapshot(nc, name, snapshot_path(tmp_path, name))
    await js.delete_stream(name)

    await streams.ensure_streams(js, **names(unique), rebuilder=StreamRebuilder(nc, tmp_path))
    after = await js.stream_info(name)
    assert after.state.messages == MESSAGES
    assert after.state.last_seq == before.state.last_seq
    assert after.config.persist_mode == PersistMode.ASYNC
    assert (await js.consumer_info(name, "history")).ack_floor.stream_seq == ACKED
    assert not snapshot_path(tmp_path, name).exists()


async def test_a_publish_while_the_stream_is_parked_gets_no_answer_and_is_not_lost(
    nc: nats.aio.client.Client, unique: str, tmp_path: Path
) -> None:
    """While its snapshot is taken the stream takes no writes: a publisher is told no one
    answers (and keeps its sample to send again), rather than acknowledged into a stream that
    is about to be deleted."""
    js = nc.jetstream()
    name, subject = await old_metrics_with_a_consumer(nc, unique)
    parked = (await js.stream_info(name)).config
    parked.subjects = [f"_mirror.rebuilding.{name}"]
    await js.update_stream(parked)
    with pytest.raises(nats.js.errors.NoStreamResponseError):
        await js.publish(subject, b"while parked")
    await streams.ensure_streams(js, **names(unique), rebuilder=StreamRebuilder(nc, tmp_path))
    assert (await js.publish(subject, b"sent again")).seq == MESSAGES + 1
