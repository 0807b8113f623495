"""The agent's HTTP transport against a real local HTTP server standing in for the ingest."""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mirror_agent.agent import Agent
from mirror_agent.config import AgentConfig
from mirror_schema.samples import decode_batch
from waiting import wait_until


@dataclass
class FakeIngest:
    """Answers POST /api/metrics/batch like the ingest: 202, 503 while `down`, 422 on `refuse`."""

    down: bool = False
    refuse_seq: int | None = None
    accepted: list[int] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)
    requests: int = 0


@pytest.fixture
def ingest() -> Iterator[tuple[FakeIngest, str]]:
    state = FakeIngest()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests += 1
            state.authorizations.add(self.headers.get("Authorization", ""))
            if self.path != "/api/metrics/batch":
                self._answer(404, b'{"detail":"no such route"}')
            elif state.down:
                self._answer(503, b'{"detail":"NATS is down"}', retry_after="0.2")
            else:
                seqs = [sample.seq or 0 for sample in decode_batch(body).samples]
                if state.refuse_seq in seqs:
                    self._answer(422, b'{"detail":"samples[0].cpu_load: bad"}')
                else:
                    state.accepted += seqs
                    self._answer(202, b'{"accepted": %d}' % len(seqs))

        def _answer(self, status: int, body: bytes, retry_after: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http_transport_buffers_while_the_ingest_is_down_and_delivers_in_order(
    ingest: tuple[FakeIngest, str],
) -> None:
    """503s keep samples in the buffer; once the ingest accepts, all arrive once, in order,
    with the bearer token."""
    state, url = ingest
    state.down = True
    config = AgentConfig(
        transport="http",
        ingest_url=url,
        ingest_token="t0k",
        host_id="http-host",
        interval_seconds=0.5,
    )
    agent = Agent(config)
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    await wait_until(lambda: agent.seq >= 4 and state.requests >= 2, timeout=20, what="503s")
    assert state.accepted == []
    state.down = False
    await wait_until(lambda: len(state.accepted) >= 6, timeout=20, what="delivery")
    stop.set()
    await running
    assert state.accepted == list(range(1, agent.seq + 1))
    assert state.authorizations == {"Bearer t0k"}


async def test_a_sample_the_ingest_refuses_is_counted_and_the_rest_go_on(
    ingest: tuple[FakeIngest, str],
) -> None:
    """A 422 for one sample drops that sample alone, counted; the others are delivered."""
    state, url = ingest
    state.refuse_seq = 2
    config = AgentConfig(
        transport="http", ingest_url=url, host_id="http-refused", interval_seconds=0.5
    )
    agent = Agent(config)
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    await wait_until(lambda: len(state.accepted) >= 3, timeout=20, what="three accepted")
    stop.set()
    await running
    assert agent.shipper is not None
    assert agent.shipper.stats.rejected == 1
    assert 2 not in state.accepted
    assert state.accepted == [n for n in range(1, agent.seq + 1) if n != 2]
