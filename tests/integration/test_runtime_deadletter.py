"""dead_letter(): a message that can never be processed is parked on deadletter.<subject>
with its reason, once however often it is parked, or the caller hears that it could not be."""

from collections.abc import AsyncIterator

import nats.aio.client
import pytest_asyncio
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from mirror_runtime.deadletter import (
    CONSUMER_HEADER,
    MAX_REASON_CHARS,
    REASON_HEADER,
    dead_letter,
    dead_letter_subject,
)


def test_the_dead_letter_subject_keeps_a_test_prefix_in_front() -> None:
    """`deadletter.<subject>`; under a test prefix, `<prefix>.deadletter.<subject>`."""
    assert dead_letter_subject("metrics.raw.web-01") == "deadletter.metrics.raw.web-01"
    assert dead_letter_subject("t1.metrics.raw.web-01", "t1") == "t1.deadletter.metrics.raw.web-01"


class Parking:
    """A stream of the test's own holding `t<unique>.deadletter.>`."""

    def __init__(self, nc: nats.aio.client.Client, unique: str) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.prefix = f"t{unique}"
        self.stream = f"T{unique}_DEAD"

    async def received(self, subject: str, data: bytes, headers: dict[str, str]) -> Msg:
        """A real message, as a consumer would have it, to be dead-lettered."""
        subscription = await self.nc.subscribe(subject, max_msgs=1)
        await self.nc.publish(subject, data, headers=headers)
        return await subscription.next_msg(timeout=5)


@pytest_asyncio.fixture
async def parking(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[Parking]:
    made = Parking(nc, unique)
    await made.js.add_stream(
        StreamConfig(name=made.stream, subjects=[f"{made.prefix}.deadletter.>"])
    )
    yield made
    await made.js.delete_stream(made.stream)


async def test_a_message_is_parked_with_its_reason_and_consumer(parking: Parking) -> None:
    """The body unchanged; the reason (cut to its limit) and the consumer in headers."""
    subject = f"{parking.prefix}.metrics.raw.web-01"
    msg = await parking.received(subject, b"not json", {"Nats-Msg-Id": "web-01:7"})
    reason = "cpu_load: Expected `float` " + "x" * 2000
    assert await dead_letter(
        parking.js, msg, reason, consumer="history", subject_prefix=parking.prefix
    )
    stored = await parking.js.get_last_msg(
        parking.stream, f"{parking.prefix}.deadletter.metrics.raw.web-01"
    )
    assert stored.data == b"not json"
    assert stored.headers is not None
    assert stored.headers[REASON_HEADER] == reason[:MAX_REASON_CHARS]
    assert stored.headers[CONSUMER_HEADER] == "history"
    assert stored.headers["Nats-Msg-Id"] == "dead:history:web-01:7"


async def test_a_message_parked_twice_is_stored_once(parking: Parking) -> None:
    """A redelivered message dead-lettered again is dropped by its derived Nats-Msg-Id."""
    subject = f"{parking.prefix}.metrics.raw.web-02"
    msg = await parking.received(subject, b"{}", {"Nats-Msg-Id": "web-02:1"})
    for _ in range(2):
        assert await dead_letter(
            parking.js, msg, "bad", consumer="history", subject_prefix=parking.prefix
        )
    info = await parking.js.stream_info(parking.stream)
    assert info.state.messages == 1


async def test_when_nothing_can_park_it_the_caller_is_told(
    parking: Parking, nc: nats.aio.client.Client
) -> None:
    """No stream takes the dead letter: False, so that the caller naks and loses nothing."""
    elsewhere = "u" + parking.prefix  # no stream holds <elsewhere>.deadletter.>
    msg = await parking.received(f"{elsewhere}.metrics.raw.web-03", b"{}", {})
    assert not await dead_letter(
        nc.jetstream(), msg, "bad", consumer="history", subject_prefix=elsewhere
    )
    assert (await parking.js.stream_info(parking.stream)).state.messages == 0
