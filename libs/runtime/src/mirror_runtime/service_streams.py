"""A service's streams at its start: made when missing, asked again while JetStream is busy.

A cluster between leaders (its meta group electing one, a node joining late, a loaded machine
missing heartbeats) does not answer a JetStream API request at all: nats-py says so with its
TimeoutError, or the server with 503 "JetStream system temporarily unavailable". Without the
retry a service dies at its start on the first such request, and `mirror-stage up` stops with it.
"""

from typing import Final

import nats.errors
import nats.js.errors
from nats.js.client import JetStreamContext

from mirror_runtime.retry import until_answered
from mirror_schema import streams

# Within the launcher's 30 s for a service to become healthy.
STREAMS_WITHIN_SECONDS: Final = 25.0


async def ensure_service_streams(
    js: JetStreamContext, *, seconds: float = STREAMS_WITHIN_SECONDS
) -> None:
    """streams.ensure_streams(update=False), asked again for up to `seconds` while JetStream
    does not answer; past that, its last error."""
    await until_answered(
        lambda: streams.ensure_streams(js, update=False),
        seconds=seconds,
        transient=(nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError),
        what="the streams",
    )
