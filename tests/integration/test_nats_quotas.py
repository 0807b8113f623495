"""Quotas on the bus (issue 17, item 7), against a real nats-server with authorization on: one
agent cannot take a shared stream for itself, nor send a message past the bound, nor open more
than its own connections, nor flood the twin with live output."""

import contextlib
import time
from datetime import UTC, datetime

import nats.errors
import prometheus_client
import pytest
from nats_auth_helpers import HOST_A, HOST_B, Secured

from mirror_schema import codec, identities, streams, subjects
from mirror_schema.commands import OutputChunk
from mirror_stage.nats_accounts import AGENT_MAX_CONNECTIONS
from mirror_stage.natsd import MAX_PAYLOAD_BYTES
from mirror_twin.relay import OUTPUT_BURST_CHUNKS, OUTPUT_CHUNKS_PER_SECOND, BusRelay
from waiting import wait_until

COMMAND_ID = "0193a5b2-7c4d-7e2f-9a1b-2c3d4e5f6a7b"


async def test_metrics_keeps_a_bounded_number_of_samples_per_host(secured: Secured) -> None:
    """The server itself holds METRICS to at most `max_msgs_per_subject` samples of each host:
    a host sending more loses its own oldest, never another host's."""
    admin = await secured.connect(secured.admin)
    info = await admin.nc.jetstream().stream_info(streams.METRICS.name)
    assert info.config.max_msgs_per_subject == streams.METRICS_SAMPLES_PER_HOST
    assert 0 < streams.METRICS_SAMPLES_PER_HOST <= 7 * 86_400 // 5


async def test_an_older_metrics_stream_gets_the_cap_from_the_launcher(secured: Secured) -> None:
    """A stream made before the cap existed is updated in place when the launcher starts."""
    admin = await secured.connect(secured.admin)
    js = admin.nc.jetstream()
    info = await js.stream_info(streams.METRICS.name)
    info.config.max_msgs_per_subject = -1
    await js.update_stream(info.config)
    assert streams.METRICS.name in await streams.ensure_streams(js)
    info = await js.stream_info(streams.METRICS.name)
    assert info.config.max_msgs_per_subject == streams.METRICS_SAMPLES_PER_HOST


async def test_an_agent_cannot_send_a_message_past_the_payload_bound(secured: Secured) -> None:
    """The server announces the bound (nats-py then refuses locally), and a client that
    ignores it is cut off by the server itself."""
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    assert agent.nc.max_payload == MAX_PAYLOAD_BYTES
    too_big = b"x" * (MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(nats.errors.MaxPayloadError):
        await agent.nc.publish(subjects.metrics_raw(HOST_A), too_big)
    agent.nc._max_payload = 2 * MAX_PAYLOAD_BYTES  # a client that does not check
    await agent.nc.publish(subjects.metrics_raw(HOST_A), too_big)
    with contextlib.suppress(nats.errors.Error):
        await agent.nc.flush(timeout=2)
    await wait_until(
        lambda: "maximum payload" in str(agent.nc.last_error).lower(),
        timeout=5,
        what=f"the server's refusal: {agent.nc.last_error!r}",
    )
    assert agent.nc.is_closed
    admin = await secured.connect(secured.admin)
    info = await admin.nc.jetstream().stream_info(streams.METRICS.name)
    assert info.state.messages == 0


def _chunk(host: str, seq: int) -> bytes:
    return codec.encode(
        OutputChunk(
            command_id=COMMAND_ID,
            host_id=host,
            stream="stdout",
            seq=seq,
            data="line\n",
            timestamp=datetime.now(UTC),
        )
    )


def _throttled() -> float:
    value = prometheus_client.REGISTRY.get_sample_value(
        "mirror_twin_relay_throttled_total", {"type": "command_output"}
    )
    return value or 0.0


async def test_one_agent_cannot_take_more_than_its_own_connections(secured: Secured) -> None:
    """Each agent is alone in its account, which caps its connections: the one past the cap is
    refused by the server, while another agent and the services still connect; closing one
    frees its place."""
    held = [
        await secured.connect(secured.agents[HOST_A], HOST_A) for _ in range(AGENT_MAX_CONNECTIONS)
    ]
    refusal = await secured.refusal(secured.agents[HOST_A], HOST_A)
    assert "maximum account active connections" in str(refusal), refusal
    other = await secured.connect(secured.agents[HOST_B], HOST_B)
    ack = await other.nc.jetstream().publish(subjects.metrics_raw(HOST_B), b"{}")
    assert ack.stream == streams.METRICS.name
    twin = await secured.connect(secured.services["twin"], inbox=identities.inbox_prefix("twin"))
    assert twin.nc.is_connected
    await held[0].nc.close()

    async def place_freed() -> bool:
        return await secured.refusal(secured.agents[HOST_A], HOST_A) is None

    await wait_until(place_freed, timeout=5, what="a connection again once one closed")


async def test_one_agent_flooding_live_output_is_cut_to_its_rate_and_others_pass(
    secured: Secured,
) -> None:
    """Live output is core NATS, stored nowhere: the twin's relay passes at most a burst and
    then a steady rate of one host's chunks, drops (and counts) the rest, and another host's
    chunks still all pass."""
    twin = await secured.connect(secured.services["twin"], inbox=identities.inbox_prefix("twin"))
    relayed: list[bytes] = []
    relay = BusRelay(twin.nc, relayed.append)
    await relay.start()
    before = _throttled()
    flooder = await secured.connect(secured.agents[HOST_A], HOST_A)
    other = await secured.connect(secured.agents[HOST_B], HOST_B)
    flood = 20 * OUTPUT_BURST_CHUNKS
    began = time.monotonic()
    try:
        for seq in range(flood):
            await flooder.nc.publish(
                subjects.commands_output(HOST_A, COMMAND_ID), _chunk(HOST_A, seq)
            )
        await flooder.nc.flush()
        for seq in range(10):
            await other.nc.publish(
                subjects.commands_output(HOST_B, COMMAND_ID), _chunk(HOST_B, seq)
            )
        await other.nc.flush()
        await wait_until(
            lambda: sum(HOST_B.encode() in m for m in relayed) == 10,
            timeout=5,
            what="every chunk of the quiet host",
        )
        await wait_until(
            lambda: len(relayed) + (_throttled() - before) >= flood + 10,
            timeout=5,
            what="the flood relayed or counted",
        )
        elapsed = time.monotonic() - began
    finally:
        await relay.stop()
    from_flooder = sum(HOST_A.encode() in m for m in relayed)
    allowed = OUTPUT_BURST_CHUNKS + OUTPUT_CHUNKS_PER_SECOND * elapsed
    assert OUTPUT_BURST_CHUNKS <= from_flooder <= allowed, (from_flooder, elapsed)
    assert from_flooder < flood // 4
    assert _throttled() - before == flood - from_flooder
