"""The ingest's HTTP gateway in-process over real streams, and the reference payload and
batches the gateway tests post to it."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats.aio.client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

from mirror_ingest.batch import SamplePublisher
from mirror_ingest.batch_routes import batch_router
from mirror_ingest.config import IngestConfig
from mirror_ingest.ratelimit import HostRateLimiter
from mirror_runtime.app import service_app
from mirror_runtime.config import ServiceConfig
from mirror_runtime.health import Dependencies
from mirror_schema import streams

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "original-agent-payload.json"
# A minute after the reference payload was taken: its timestamp stays acceptable forever.
NOW = datetime(2026, 11, 21, 22, 39, 23, tzinfo=UTC)
URL = "/api/metrics/batch"


def reference() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(REFERENCE.read_bytes())
    return sample


def batch(*samples: dict[str, Any]) -> bytes:
    return json.dumps({"samples": list(samples)}).encode()


def at(seconds_ago: float, **changes: Any) -> dict[str, Any]:
    """The reference sample, taken `seconds_ago` before NOW, with `changes`."""
    timestamp = (NOW - timedelta(seconds=seconds_ago)).isoformat()
    return {**reference(), "timestamp": timestamp, **changes}


def config(**limits: Any) -> IngestConfig:
    return IngestConfig(service=ServiceConfig(name="ingest", http_port=0), **limits)


@dataclass
class Gateway:
    """The ingest's HTTP gateway in-process, and a view of the stream it publishes to."""

    client: httpx.AsyncClient
    js: JetStreamContext
    stream: str
    subject_prefix: str

    async def post(self, content: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post(URL, content=content, **kwargs)

    async def count(self) -> int:
        return (await self.js.stream_info(self.stream)).state.messages

    async def stored(self) -> list[RawStreamMsg]:
        state = (await self.js.stream_info(self.stream)).state
        if state.messages == 0:
            return []
        return [
            await self.js.get_msg(self.stream, seq)
            for seq in range(state.first_seq, state.last_seq + 1)
        ]

    def subject(self, host_id: str) -> str:
        prefix = f"{self.subject_prefix}." if self.subject_prefix else ""
        return f"{prefix}metrics.raw.{host_id}"


@asynccontextmanager
async def open_gateway(
    nc: nats.aio.client.Client,
    *,
    settings: IngestConfig | None = None,
    prefix: str = "",
    subject_prefix: str = "",
) -> AsyncIterator[Gateway]:
    """Streams named with `prefix`, and the gateway's app over them behind an httpx client."""
    settings = settings or config()
    js = nc.jetstream()
    await streams.ensure_streams(js, prefix=prefix, subject_prefix=subject_prefix)
    publisher = SamplePublisher(
        nc, ack_timeout_seconds=settings.ack_timeout_seconds, subject_prefix=subject_prefix
    )
    limiter = HostRateLimiter(settings.host_rate_per_second, settings.host_burst)
    # As mirror_ingest.app does: the batch route's cap is the ingest's, not the default.
    limits = {"/api/metrics/batch": settings.max_body_bytes}
    app = service_app(Dependencies("ingest", nc), body_limits=limits)
    app.include_router(batch_router(publisher, limiter, settings, clock=lambda: NOW))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Gateway(client, js, f"{prefix}{streams.METRICS.name}", subject_prefix)


async def delete_streams(nc: nats.aio.client.Client, prefix: str) -> None:
    js = nc.jetstream()
    for spec in streams.stream_specs(prefix=prefix):
        await js.delete_stream(spec.name)


def detail(response: httpx.Response) -> str:
    body = response.json()
    assert list(body) == ["detail"], body
    text: str = body["detail"]
    return text
