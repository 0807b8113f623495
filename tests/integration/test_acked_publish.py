"""AckedPublisher: a batch of JetStream publishes, each answered on its own reply token."""

import asyncio

import nats.aio.client
import nats.js.errors
import pytest
from nats.aio.msg import Msg
from nats.js.api import DiscardPolicy, StreamConfig

from mirror_schema.acked_publish import AckedPublisher
from waiting import wait_until


async def test_each_message_gets_its_own_acknowledgement_in_order(
    nc: nats.aio.client.Client, unique: str
) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=f"ACKS{unique}", subjects=[f"acks{unique}.>"]))
    publisher = AckedPublisher(nc)
    acks = [
        await publisher.publish(f"acks{unique}.a", b"%d" % n, {"Nats-Msg-Id": f"{unique}-{n}"})
        for n in range(500)
    ]
    done = await asyncio.gather(*acks)
    assert [ack.seq for ack in done] == list(range(1, 501))
    again = await publisher.publish(f"acks{unique}.a", b"0", {"Nats-Msg-Id": f"{unique}-0"})
    assert (await again).duplicate is True
    assert publisher.pending() == 0


async def test_no_stream_and_a_refusal_are_errors_not_acknowledgements(
    nc: nats.aio.client.Client, unique: str
) -> None:
    publisher = AckedPublisher(nc)
    nowhere = await publisher.publish(f"nostream{unique}.a", b"x", {})
    with pytest.raises(nats.js.errors.NoStreamResponseError):
        await nowhere
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(
            name=f"FULL{unique}",
            subjects=[f"full{unique}.>"],
            max_msgs=1,
            discard=DiscardPolicy.NEW,
        )
    )
    assert (await (await publisher.publish(f"full{unique}.a", b"1", {}))).seq == 1
    with pytest.raises(nats.js.errors.APIError, match="maximum messages"):
        await (await publisher.publish(f"full{unique}.a", b"2", {}))


async def test_a_late_acknowledgement_cancelled_is_forgotten(
    nc: nats.aio.client.Client, unique: str
) -> None:
    publisher = AckedPublisher(nc)
    delivered = asyncio.Event()

    async def never_answer(_msg: Msg) -> None:
        delivered.set()

    await nc.subscribe(f"silent{unique}.a", cb=never_answer)
    ack = await publisher.publish(f"silent{unique}.a", b"x", {})
    async with asyncio.timeout(5):
        await delivered.wait()  # it arrived, and nothing answers it
    assert publisher.pending() == 1
    ack.cancel()
    await wait_until(lambda: publisher.pending() == 0, timeout=5, what="the late ack forgotten")
