"""add_stream asks again when nats-server's store was not ready for the stream (its account
still being enabled, server/jetstream.go), and only then: every other refusal is raised."""

from typing import Any

import pytest
from nats.js.api import StreamConfig
from nats.js.errors import ServerError

from mirror_schema.streams import STORE_RACE_ATTEMPTS, add_stream

STORE_NOT_READY = {"code": 500, "err_code": 10049, "description": "error creating store for stream"}


class RefusingFirst:
    """A JetStream manager whose add_stream fails `failures` times with `error`, then succeeds.
    (The race itself needs a server caught between two of its own steps: it cannot be made to
    happen on demand, so its answer is played here.)"""

    def __init__(self, failures: int, error: dict[str, Any]) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def add_stream(self, config: StreamConfig) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ServerError(**self.error)


async def test_a_store_that_was_not_ready_is_asked_again_until_the_stream_is_made() -> None:
    js = RefusingFirst(failures=2, error=STORE_NOT_READY)
    await add_stream(js, StreamConfig(name="S"))  # type: ignore[arg-type]
    assert js.calls == 3


async def test_asking_again_is_bounded() -> None:
    js = RefusingFirst(failures=STORE_RACE_ATTEMPTS, error=STORE_NOT_READY)
    with pytest.raises(ServerError, match="error creating store for stream"):
        await add_stream(js, StreamConfig(name="S"))  # type: ignore[arg-type]
    assert js.calls == STORE_RACE_ATTEMPTS


async def test_any_other_refusal_is_raised_at_once() -> None:
    other = {"code": 500, "err_code": 10049, "description": "stream name already in use"}
    js = RefusingFirst(failures=1, error=other)
    with pytest.raises(ServerError, match="already in use"):
        await add_stream(js, StreamConfig(name="S"))  # type: ignore[arg-type]
    assert js.calls == 1
