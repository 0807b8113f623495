"""Helpers for the agent's integration tests: read back what a host published."""

import nats
import nats.errors

from mirror_schema import codec, subjects
from mirror_schema.metrics import MetricSample


async def stored_samples(url: str, host_id: str) -> list[tuple[str, MetricSample]]:
    """Every (Nats-Msg-Id, sample) of `host_id` in the stream, in stream order."""
    nc = await nats.connect(url)
    found: list[tuple[str, MetricSample]] = []
    try:
        subscription = await nc.jetstream().subscribe(
            subjects.metrics_raw(host_id), ordered_consumer=True
        )
        while True:
            try:
                msg = await subscription.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                break  # nothing stored at all
            assert msg.headers is not None
            found.append((msg.headers["Nats-Msg-Id"], codec.decode_sample(msg.data)))
            if msg.metadata.num_pending == 0:
                break
        await subscription.unsubscribe()
    finally:
        await nc.close()
    return found


async def stored_count(url: str, host_id: str) -> int:
    """How many samples of `host_id` the stream holds."""
    return len(await stored_samples(url, host_id))
