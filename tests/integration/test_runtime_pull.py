"""BatchPuller: the hand-written JetStream pull, against a real server. It returns what is
there up to the batch, waits for more only as long as asked, returns at the first message
when eager, and leaves what it fetched but nobody acknowledged to come back after ack_wait."""

import asyncio
import time
from collections.abc import AsyncIterator

import nats.aio.client
import pytest_asyncio
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from mirror_runtime.pull import BatchPuller
from waiting import wait_until

ACK_WAIT_SECONDS = 1.0


class Lane:
    """A stream of its own, a durable consumer on it, and a started puller."""

    def __init__(self, nc: nats.aio.client.Client, unique: str) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.stream = f"T{unique}_PULL"
        self.subject = f"t{unique}.pull"
        self.puller = BatchPuller(nc, self.stream, "lane")

    async def start(self) -> None:
        await self.js.add_stream(StreamConfig(name=self.stream, subjects=[self.subject]))
        await self.js.add_consumer(
            self.stream,
            ConsumerConfig(
                durable_name="lane", ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS
            ),
        )
        await self.puller.start()

    async def publish(self, *payloads: str) -> None:
        for payload in payloads:
            await self.js.publish(self.subject, payload.encode())


@pytest_asyncio.fixture
async def lane(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[Lane]:
    made = Lane(nc, unique)
    await made.start()
    yield made
    await made.puller.close()
    await made.js.delete_stream(made.stream)


def texts(msgs: list[nats.aio.client.Msg]) -> list[str]:
    return [msg.data.decode() for msg in msgs]


async def test_a_fetch_returns_what_is_there_up_to_the_batch_in_order(lane: Lane) -> None:
    """Five stored, a batch of three: the first three; the next fetch, the other two."""
    await lane.publish("a", "b", "c", "d", "e")
    async with asyncio.timeout(10):
        first = await lane.puller.fetch(3, 2.0)
        assert texts(first) == ["a", "b", "c"]
        for msg in first:
            await msg.ack()
        second = await lane.puller.fetch(3, 2.0)
    assert texts(second) == ["d", "e"]


async def test_with_nothing_there_a_fetch_returns_empty_after_its_wait(lane: Lane) -> None:
    """An empty stream: no messages, after about the wait asked for (not forever)."""
    started = time.monotonic()
    async with asyncio.timeout(10):
        assert await lane.puller.fetch(10, 0.5) == []
    assert 0.4 <= time.monotonic() - started < 3.0


async def test_an_eager_fetch_returns_at_the_first_message(lane: Lane) -> None:
    """Waiting with nothing there, an eager fetch returns as soon as one message arrives,
    long before its wait is over; what the still open pull brings later comes next time."""
    fetching = asyncio.create_task(lane.puller.fetch(10, 20.0, eager=True))

    async def waiting() -> bool:
        return (await lane.js.consumer_info(lane.stream, "lane")).num_waiting == 1

    await wait_until(waiting, timeout=10, what="the puller's pull request waiting")
    started = time.monotonic()
    await lane.publish("first")
    async with asyncio.timeout(10):
        assert texts(await fetching) == ["first"]
    assert time.monotonic() - started < 5.0
    await lane.publish("second")
    async with asyncio.timeout(10):
        assert texts(await lane.puller.fetch(10, 2.0)) == ["second"]


async def test_a_message_fetched_and_not_acknowledged_comes_back(lane: Lane) -> None:
    """Nobody acknowledged it: after ack_wait the server delivers it again, marked so."""
    await lane.publish("unacked")
    async with asyncio.timeout(10):
        first = await lane.puller.fetch(1, 2.0)
        assert texts(first) == ["unacked"]
        assert first[0].metadata.num_delivered == 1
        again = await lane.puller.fetch(1, ACK_WAIT_SECONDS + 3.0)
    assert texts(again) == ["unacked"]
    assert again[0].metadata.num_delivered == 2


async def test_an_acknowledged_message_does_not_come_back(lane: Lane) -> None:
    """Acknowledged: past ack_wait, the next fetch finds nothing."""
    await lane.publish("done")
    async with asyncio.timeout(10):
        (msg,) = await lane.puller.fetch(1, 2.0)
        await msg.ack_sync()
        assert await lane.puller.fetch(1, ACK_WAIT_SECONDS + 0.5) == []


async def test_after_close_another_puller_gets_what_was_left_unacknowledged(
    lane: Lane, nc: nats.aio.client.Client
) -> None:
    """A lane that stops with messages in hand loses none: another lane gets them."""
    await lane.publish("in hand")
    leaving = BatchPuller(nc, lane.stream, "lane")
    await leaving.start()
    async with asyncio.timeout(10):
        assert texts(await leaving.fetch(1, 2.0)) == ["in hand"]
        await leaving.close()
        successor = BatchPuller(nc, lane.stream, "lane")
        await successor.start()
        try:
            assert texts(await successor.fetch(1, ACK_WAIT_SECONDS + 3.0)) == ["in hand"]
        finally:
            await successor.close()
