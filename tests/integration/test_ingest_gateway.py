"""POST /api/metrics/batch on a real nats-server: what is accepted is stored once, nothing else."""

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.aio.client
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_gateway_helpers import (
    NOW,
    REFERENCE,
    URL,
    Gateway,
    at,
    batch,
    config,
    delete_streams,
    detail,
    open_gateway,
    reference,
)
from nats.aio.msg import Msg

from loopback_ports import free_port
from mirror_ingest.batch import SamplePublisher
from mirror_ingest.batch_routes import batch_router
from mirror_ingest.errors import PublishFailedError
from mirror_ingest.ratelimit import HostRateLimiter
from mirror_ingest.validation import AcceptedSample
from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies
from mirror_schema import codec, subjects
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.supervisor import Supervised
from servers import NatsServer
from waiting import wait_until


@pytest_asyncio.fixture
async def gateway(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[Gateway]:
    """A gateway publishing to this test's own copy of the streams on the shared server."""
    async with open_gateway(nc, prefix=f"T{unique}_", subject_prefix=f"t{unique}") as gw:
        yield gw
    await delete_streams(nc, f"T{unique}_")


async def test_the_original_agents_payload_is_stored_once_with_a_host_id(
    gateway: Gateway,
) -> None:
    """The reference payload gets 202 and exactly one message on metrics.raw.vm, host_id vm."""
    response = await gateway.post(b'{"samples": [' + REFERENCE.read_bytes() + b"]}")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert datetime.fromisoformat(body["timestamp"]) == NOW
    [stored] = await gateway.stored()
    assert stored.subject == gateway.subject("vm")
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == "vm:ts:1795300703200069"
    assert stored.data is not None
    sample = codec.decode_sample(stored.data)
    assert sample.host_id == "vm"
    assert sample.hostname == "vm"
    assert sample.cpu_load == 50.0


async def test_a_batch_posted_twice_is_stored_once(gateway: Gateway) -> None:
    """A retried batch is deduplicated by Nats-Msg-Id: still one message per sample."""
    body = batch(at(60), at(30, boot_id="b1", seq=7, host_id="rack-1"))
    for _ in range(2):
        response = await gateway.post(body)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 2
    stored = await gateway.stored()
    assert [m.subject for m in stored] == [gateway.subject("vm"), gateway.subject("rack-1")]
    assert [m.headers["Nats-Msg-Id"] for m in stored if m.headers] == [
        f"vm:ts:{int((NOW - timedelta(seconds=60)).timestamp() * 1_000_000)}",
        "rack-1:b1:7",
    ]


def bad_batches() -> Iterator[Any]:
    no_hostname = reference()
    del no_hostname["hostname"]
    yield pytest.param(batch(no_hostname), 422, "samples[0].hostname", id="missing hostname")
    yield pytest.param(
        batch(at(0), at(0, cpu_load=250)), 422, "samples[1].cpu_load", id="cpu_load 250"
    )
    yield pytest.param(
        batch(at(0, disks="sda", uptime_seconds=1)), 422, "samples[0].disks", id="wrong types"
    )
    yield pytest.param(batch(), 422, "samples: the list is empty", id="empty list")
    yield pytest.param(b"\x00\x01 not json", 400, "body is not JSON", id="not JSON")
    yield pytest.param(
        batch(at(0, timestamp=(NOW + timedelta(hours=1)).isoformat())),
        422,
        "samples[0].timestamp",
        id="future timestamp",
    )
    yield pytest.param(b"x" * (10 * 2**20), 413, "over the limit of 4194304 bytes", id="10 MB")
    minimal = {"hostname": "h", "timestamp": NOW.isoformat(), "cpu_load": 1}
    yield pytest.param(
        batch(*[minimal] * 10_000), 413, "limit of 1000 per batch", id="10,000 samples"
    )


@pytest.mark.parametrize(("body", "status", "named"), list(bad_batches()))
async def test_a_bad_batch_is_refused_naming_the_problem_and_nothing_is_stored(
    gateway: Gateway, body: bytes, status: int, named: str
) -> None:
    """Each bad batch gets its 4xx with a detail naming the problem; the stream stays as it was."""
    assert (await gateway.post(batch(at(120)))).status_code == 202
    response = await gateway.post(body)
    assert response.status_code == status, response.text
    assert named in detail(response)
    assert await gateway.count() == 1


async def test_a_chunked_body_over_the_limit_is_cut_off_early(gateway: Gateway) -> None:
    """Without Content-Length the body is counted as it arrives and refused past the cap."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10):
            sent += 1
            yield b" " * 2**20

    response = await gateway.post(chunks())
    assert response.status_code == 413, response.text
    assert "over the limit of 4194304 bytes" in detail(response)
    assert sent <= 5
    assert await gateway.count() == 0


async def test_a_host_over_its_rate_gets_429_with_retry_after(
    nc: nats.aio.client.Client, unique: str
) -> None:
    """Past its burst a host gets 429 and Retry-After; other hosts are unaffected."""
    limits = config(host_burst=3, host_rate_per_second=0.01)
    async with open_gateway(
        nc, settings=limits, prefix=f"T{unique}_", subject_prefix=f"t{unique}"
    ) as gw:
        assert (await gw.post(batch(at(3), at(2), at(1)))).status_code == 202
        response = await gw.post(batch(at(0, host_id="other"), at(0)))
        assert response.status_code == 429, response.text
        assert int(response.headers["Retry-After"]) >= 1
        assert "'vm'" in detail(response)
        assert await gw.count() == 3
        assert (await gw.post(batch(at(0, host_id="other")))).status_code == 202
        too_big = await gw.post(batch(*(at(n, host_id="big") for n in range(4))))
        assert too_big.status_code == 413, too_big.text
        assert "per-host burst of 3" in detail(too_big)
        assert await gw.count() == 4
    await delete_streams(nc, f"T{unique}_")


async def test_no_stream_for_the_subject_gets_503(nc: nats.aio.client.Client, unique: str) -> None:
    """When JetStream does not store the subject, the batch is not acknowledged: 503."""
    publisher = SamplePublisher(nc, ack_timeout_seconds=2, subject_prefix=f"nostream{unique}")
    app = service_app(
        Dependencies("ingest", nc), body_limits={"/api/metrics/batch": config().max_body_bytes}
    )
    limiter = HostRateLimiter(10, 200)
    app.include_router(batch_router(publisher, limiter, config(), clock=lambda: NOW))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(URL, content=batch(at(0)))
    assert response.status_code == 503, response.text
    assert "nothing was accepted" in detail(response)
    assert int(response.headers["Retry-After"]) >= 1


async def quiet(*_: object) -> None:
    """The test stops the server on purpose; the client's complaints are expected."""


async def test_nats_down_gets_503_and_the_batch_is_never_stored(tmp_path: Path) -> None:
    """With the bus down the gateway answers 503 at once; once it is back, the stream holds
    nothing of the refused batch."""
    part = Supervised(loopback_nats_spec(tmp_path, port=free_port()))
    await part.start()
    client = await nats.connect(
        part.spec.address,
        reconnect_time_wait=0.2,
        max_reconnect_attempts=-1,
        error_cb=quiet,
        disconnected_cb=quiet,
        reconnected_cb=quiet,
    )
    try:
        async with open_gateway(client) as gw:
            assert (await gw.post(batch(at(10)))).status_code == 202
            await part.stop()
            await wait_until(lambda: not client.is_connected, timeout=10, what="a disconnect")
            response = await gw.post(batch(at(5, host_id="down"), at(4, host_id="down")))
            assert response.status_code == 503, response.text
            assert "nothing was accepted, retry the whole batch" in detail(response)
            assert int(response.headers["Retry-After"]) >= 1
            await part.start()
            await wait_until(lambda: client.is_connected, timeout=30, what="a reconnect")
            await client.flush()
            stored = await gw.stored()
            assert [m.subject for m in stored] == [gw.subject("vm")]
    finally:
        await client.close()
        await part.stop()


# Property-based: whatever the body, the gateway answers, and never with a 5xx but 503.
_zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9))])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


# Seconds from NOW: mostly inside the accepted window, sometimes outside it either way.
_offsets = st.one_of(st.integers(-600, 300), st.integers(-8 * 86_400, 3600))
_timestamps = st.builds(
    lambda seconds, zone: (NOW + timedelta(seconds=seconds)).astimezone(zone).isoformat(),
    _offsets,
    _zones,
)
_percent = st.floats(min_value=0, max_value=100)
# Samples that fit the schema's types and ranges (a hostname or a timestamp may still be refused).
_valid_samples = st.fixed_dictionaries(
    {
        "hostname": st.text(min_size=1, max_size=70),
        "timestamp": _timestamps,
        "cpu_load": _percent,
    },
    optional={
        "host_id": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True),
        "boot_id": st.from_regex(r"[0-9a-f-]{1,36}", fullmatch=True)
        | st.text(min_size=1, max_size=12),
        "seq": st.integers(min_value=0, max_value=2**70),
        "memory_used_percent": _percent,
        "cpu_per_core": st.lists(_percent, max_size=4),
        "disks": st.lists(
            st.fixed_dictionaries(
                {"device": st.text(max_size=8), "mountpoint": st.text(max_size=8)},
                optional={"used_percent": _percent, "total_bytes": st.integers(0, 2**64)},
            ),
            max_size=2,
        ),
        "tags": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
        "temperatures": st.dictionaries(
            st.text(max_size=6), st.floats(allow_nan=False, allow_infinity=False), max_size=3
        ),
        "position": st.fixed_dictionaries({"x": st.floats(allow_nan=False, allow_infinity=False)}),
    },
)
_fields = st.sampled_from(
    ["hostname", "timestamp", "cpu_load", "host_id", "boot_id", "seq", "disks", "tags", "gpus"]
)
# A valid sample with one field replaced by any JSON value at all.
_mutated_samples = st.tuples(_valid_samples, _fields, _json).map(
    lambda parts: {**parts[0], parts[1]: parts[2]}
)
_batches = st.one_of(
    st.lists(_valid_samples, min_size=1, max_size=5),
    st.lists(st.one_of(_valid_samples, _mutated_samples, _json), max_size=7),
).map(lambda samples: {"samples": samples})
_bodies = st.one_of(
    st.binary(max_size=300),
    _json.map(json.dumps),
    _batches.map(json.dumps),
    _batches.map(json.dumps),
).map(lambda body: body if isinstance(body, bytes) else body.encode())


def test_no_body_gets_a_5xx_other_than_503(nats_server: NatsServer) -> None:
    """Random bytes, random JSON and near-valid batches: 202, or a 4xx with a detail that
    stores nothing; never a 5xx other than 503."""
    token = uuid.uuid4().hex[:10]
    limits = config(max_batch_samples=5, host_rate_per_second=1e6, host_burst=1e6)
    statuses: Counter[int] = Counter()
    # A loop of the test's own: hypothesis calls the test synchronously, once per example.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        client = runner.run(nats.connect(nats_server.url))
        context = open_gateway(
            client, settings=limits, prefix=f"T{token}_", subject_prefix=f"t{token}"
        )
        gw = runner.run(context.__aenter__())
        try:

            @settings(max_examples=200, deadline=None)
            @given(body=_bodies)
            def post(body: bytes) -> None:
                before = runner.run(gw.count())
                response = runner.run(gw.post(body))
                statuses[response.status_code] += 1
                assert response.status_code < 500 or response.status_code == 503, response.text
                if response.status_code == 202:
                    assert response.json()["accepted"] >= 1
                else:
                    assert detail(response)
                    assert runner.run(gw.count()) == before

            post()
        finally:
            runner.run(context.__aexit__(None, None, None))
            runner.run(delete_streams(client, f"T{token}_"))
            runner.run(client.close())
    # The strategies reach every stage: publishing as well as each kind of refusal.
    assert {202, 400, 413, 422} <= set(statuses), statuses


async def test_acknowledgements_awaited_are_bounded_but_a_batch_alone_goes_through(
    nc: nats.aio.client.Client, unique: str
) -> None:
    """While the server acknowledges nothing, what the gateway awaits is capped (max_pending):
    a further batch is refused at once rather than queued; a batch alone goes out whatever its
    size."""

    delivered: list[Msg] = []

    async def never_answer(msg: Msg) -> None:
        delivered.append(msg)

    await nc.subscribe(f"silent{unique}.>", cb=never_answer)  # no stream: no acknowledgement
    publisher = SamplePublisher(
        nc, ack_timeout_seconds=2, subject_prefix=f"silent{unique}", max_pending=10
    )

    def samples(count: int, first: int) -> list[AcceptedSample]:
        return [
            AcceptedSample(
                host_id="web-01",
                subject=subjects.metrics_raw("web-01"),
                msg_id=f"{unique}-{n}",
                payload=b"{}",
            )
            for n in range(first, first + count)
        ]

    awaiting = asyncio.create_task(publisher.publish(samples(12, 0)))  # over the cap, alone
    await wait_until(lambda: len(delivered) == 12, timeout=5, what="the 12 samples sent")
    with pytest.raises(PublishFailedError, match="12 samples await their acknowledgement"):
        await publisher.publish(samples(1, 100))
    with pytest.raises(PublishFailedError, match="0 of 12 samples acknowledged"):
        await awaiting
