"""NATS identities: an agent's NKey lets it do its own host's work and nothing else. Each test
tries to get through with a real nats-server enforcing the generated permissions."""

import nats
import nats.aio.client
import nats.aio.msg
import nats.errors
import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats_auth_helpers import BOT, HOST_A, HOST_B, Client, Secured

from mirror_agent.jetstream import agent_jetstream
from mirror_runtime.requests import ask_for_reply
from mirror_schema import codec, identities, streams, subjects
from mirror_schema.identities import (
    AGENT_JETSTREAM_PREFIX,
    automation_identity,
    endpoint_subscription,
    request_subject,
)
from mirror_stage.nats_identities import agent_inbox_prefix, automation_inbox_prefix


async def test_no_credentials_are_refused(secured: Secured) -> None:
    client = Client()
    nc = nats.aio.client.Client()
    try:
        with pytest.raises((nats.errors.Error, OSError)):
            await nc.connect(
                secured.url, error_cb=client.on_error, allow_reconnect=False, connect_timeout=2
            )
    finally:
        await nc.close()  # what the failed connect opened, so nothing is left to the collector
    assert any("authorization violation" in e.lower() for e in client.errors), client.errors


async def test_an_agent_publishes_its_own_samples_and_reads_its_own_commands(
    secured: Secured,
) -> None:
    """The happy path: samples acknowledged by METRICS; its consumer, filtered to its host,
    created, fetched from and acknowledged."""
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    js = await agent_jetstream(agent.nc)
    ack = await js.publish(subjects.metrics_raw(HOST_A), b'{"hostname": "a"}')
    assert ack.stream == streams.METRICS.name
    admin = await secured.connect(secured.admin)
    await admin.nc.jetstream().publish(subjects.commands_dispatch(HOST_A), b"{}")
    consumer = f"agent-{HOST_A}"
    await js.add_consumer(
        streams.COMMANDS.name,
        ConsumerConfig(
            name=consumer,
            durable_name=consumer,
            filter_subject=subjects.commands_dispatch(HOST_A),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
        ),
    )
    pull = await js.pull_subscribe_bind(durable=consumer, stream=streams.COMMANDS.name)
    (msg,) = await pull.fetch(1, timeout=5)
    await msg.ack()
    assert msg.subject == subjects.commands_dispatch(HOST_A)
    assert agent.errors == []


async def test_an_agent_cannot_publish_samples_for_another_host(secured: Secured) -> None:
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await agent.nc.jetstream().publish(subjects.metrics_raw(HOST_B), b"{}", timeout=1)
    await agent.refused(subjects.metrics_raw(HOST_B))
    admin = await secured.connect(secured.admin)
    with pytest.raises(nats.js.errors.NotFoundError):
        await admin.nc.jetstream().get_last_msg(streams.METRICS.name, subjects.metrics_raw(HOST_B))


async def test_an_agent_cannot_dispatch_commands_even_to_itself(secured: Secured) -> None:
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    await agent.nc.publish(subjects.commands_dispatch(HOST_A), b"{}")
    await agent.nc.flush()
    await agent.refused(subjects.commands_dispatch(HOST_A))


async def test_an_agent_cannot_read_another_hosts_commands(secured: Secured) -> None:
    """Not by subscribing to them, not by a consumer filtered to them, not by the stream's
    message API, not through another consumer's name."""
    admin = await secured.connect(secured.admin)
    secret = codec.encode({"command": "rm -rf /"})
    await admin.nc.jetstream().publish(subjects.commands_dispatch(HOST_B), secret)
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    await agent.nc.subscribe(subjects.commands_dispatch(HOST_B))
    await agent.nc.flush()
    await agent.refused(subjects.commands_dispatch(HOST_B))
    js = agent.nc.jetstream(prefix=AGENT_JETSTREAM_PREFIX)
    stolen = ConsumerConfig(
        name=f"agent-{HOST_A}",
        durable_name=f"agent-{HOST_A}",
        filter_subject=subjects.commands_dispatch(HOST_B),
    )
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.add_consumer(streams.COMMANDS.name, stolen, timeout=1)
    await agent.refused(f"CONSUMER.CREATE.{streams.COMMANDS.name}.agent-{HOST_A}.commands")
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.get_last_msg(streams.COMMANDS.name, subjects.commands_dispatch(HOST_B))
    await agent.refused(f"STREAM.MSG.GET.{streams.COMMANDS.name}")
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.consumer_info(streams.COMMANDS.name, f"agent-{HOST_B}", timeout=1)
    await agent.refused(f"CONSUMER.INFO.{streams.COMMANDS.name}.agent-{HOST_B}")
    consumers = await admin.nc.jetstream().consumers_info(streams.COMMANDS.name)
    assert [c.name for c in consumers] == []


async def test_an_agent_cannot_listen_on_another_agents_inbox(secured: Secured) -> None:
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    await agent.nc.subscribe(f"{agent_inbox_prefix(HOST_B)}.>")
    await agent.nc.subscribe("_INBOX.>")
    await agent.nc.flush()
    await agent.refused(agent_inbox_prefix(HOST_B))
    await agent.refused('"_INBOX.>"')


async def test_automation_sends_requests_and_nothing_else(secured: Secured) -> None:
    """A script's identity gets its answer from commands.request, and may neither publish
    samples, nor read or send dispatched commands."""
    admin = await secured.connect(secured.admin)

    async def answer(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(b"created")

    await admin.nc.subscribe(endpoint_subscription(subjects.COMMANDS_REQUEST), cb=answer)
    await admin.nc.flush()
    bot = await secured.connect(secured.automation, inbox=automation_inbox_prefix(BOT))
    own = request_subject(subjects.COMMANDS_REQUEST, automation_identity(BOT))
    reply = await bot.nc.request(own, b"{}", timeout=5)
    assert reply.data == b"created"
    # Not in another identity's name: the subject is who asked, and only it may send it.
    for other in ("twin", "admin", automation_identity("someone-else")):
        await bot.nc.publish(request_subject(subjects.COMMANDS_REQUEST, other), b"{}")
        await bot.nc.flush()
        await bot.refused(f'publish to "commands.request.{other}"')
    await bot.nc.publish(subjects.metrics_raw(HOST_A), b"{}")
    await bot.nc.publish(subjects.commands_dispatch(HOST_A), b"{}")
    await bot.nc.subscribe(subjects.COMMANDS_DISPATCH_ALL)
    await bot.nc.flush()
    await bot.refused(f'publish to "{subjects.metrics_raw(HOST_A)}"')
    await bot.refused(f'publish to "{subjects.commands_dispatch(HOST_A)}"')
    await bot.refused(f'subscription to "{subjects.COMMANDS_DISPATCH_ALL}"')


async def test_the_commands_service_asks_an_agent_to_cancel_across_its_account(
    secured: Secured,
) -> None:
    """STAGE imports each agent's cancel subject: the commands service's request reaches the
    agent, whose answer comes back to the service's own reply subject; with no agent connected
    the service learns at once that no one listens (its host is offline)."""
    service = await secured.connect(
        secured.services["commands"], inbox=identities.inbox_prefix("commands")
    )
    subject = subjects.commands_cancel(HOST_A)
    reply_prefix = subjects.cancel_reply_prefix(HOST_A)
    with pytest.raises(nats.errors.NoRespondersError):
        await ask_for_reply(service.nc, subject, b"{}", reply_prefix=reply_prefix, timeout=5)
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)

    async def answer(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(b"stopping " + msg.data)

    await agent.nc.subscribe(subject, cb=answer)
    await agent.nc.flush()
    answered = await ask_for_reply(service.nc, subject, b"it", reply_prefix=reply_prefix, timeout=5)
    assert answered.data == b"stopping it"
    assert agent.errors == []
    assert service.errors == []


async def test_neither_an_agent_nor_a_script_can_take_a_services_lease(secured: Secured) -> None:
    """Whoever writes a lease key leads: the alerts' evaluator (an agent holding it would
    silence every alert) or the twin's checkpoint writer. Only the services may write them."""
    leases = (
        f"$KV.{streams.BUCKET_ALERTS_LEADER}.evaluator",
        f"$KV.{streams.BUCKET_TWIN_CHECKPOINT_WRITER}.writer",
    )
    agent = await secured.connect(secured.agents[HOST_A], HOST_A)
    bot = await secured.connect(secured.automation, inbox=automation_inbox_prefix(BOT))
    for client in (agent, bot):
        for lease in leases:
            await client.nc.publish(lease, b"mine")
        await client.nc.flush()
        for lease in leases:
            await client.refused(f'publish to "{lease}"')
