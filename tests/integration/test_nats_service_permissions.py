"""Each service's NATS identity does its own work and no other's: only the commands service
dispatches commands, only the ingest (and agents) publish samples, only alerts publishes
alert events, and no service may delete or purge a stream or read an agent's replies."""

import nats.errors
import pytest
from nats.js.api import ConsumerConfig
from nats_auth_helpers import HOST_A, SERVICES, Client, Secured

from mirror_schema import streams, subjects
from mirror_schema.identities import inbox_prefix, request_subject

# What each service may not publish: another service's work.
FORBIDDEN = {
    # The twin forwards the HUD's calls (mirror_schema.forwarded); nothing else.
    "twin": (
        subjects.commands_dispatch(HOST_A),
        subjects.metrics_raw(HOST_A),
        subjects.alerts_events(HOST_A),
        request_subject(subjects.COMMANDS_API_SIGNING_KEY, "twin"),
        request_subject(subjects.COMMANDS_API_LABELS_SET, "twin"),
        request_subject(subjects.ALERTS_API_GET, "twin"),
        # Nor in another identity's name.
        request_subject(subjects.COMMANDS_REQUEST, "admin"),
        request_subject(subjects.COMMANDS_REQUEST, "automation-ci"),
        request_subject(subjects.ALERTS_API_RULES_CREATE, "admin"),
        request_subject(subjects.AUTH_API_USERS_ADD, "admin"),
    ),
    "ingest": (subjects.commands_dispatch(HOST_A), subjects.alerts_events(HOST_A)),
    "alerts": (subjects.commands_dispatch(HOST_A), subjects.metrics_raw(HOST_A)),
    "commands": (subjects.metrics_raw(HOST_A), subjects.alerts_events(HOST_A)),
}
# What each service's work publishes, acknowledged by its stream.
OWN_WORK = {
    "ingest": (subjects.metrics_raw(HOST_A), streams.METRICS.name),
    "alerts": (subjects.alerts_events(HOST_A), streams.ALERTS.name),
    "commands": (subjects.commands_dispatch(HOST_A), streams.COMMANDS.name),
}


async def _service(secured: Secured, name: str) -> Client:
    return await secured.connect(secured.services[name], inbox=inbox_prefix(name))


@pytest.mark.parametrize("name", SERVICES)
async def test_a_service_cannot_publish_another_ones_work(secured: Secured, name: str) -> None:
    service = await _service(secured, name)
    for subject in FORBIDDEN[name]:
        await service.nc.publish(subject, b"{}")
        await service.nc.flush()
        await service.refused(subject)


@pytest.mark.parametrize("name", sorted(OWN_WORK))
async def test_a_service_publishes_its_own_work(secured: Secured, name: str) -> None:
    subject, stream = OWN_WORK[name]
    service = await _service(secured, name)
    ack = await service.nc.jetstream().publish(subject, b"{}")
    assert ack.stream == stream
    assert service.errors == []


@pytest.mark.parametrize("name", SERVICES)
async def test_no_service_deletes_or_purges_a_stream(secured: Secured, name: str) -> None:
    service = await _service(secured, name)
    js = service.nc.jetstream(timeout=0.5)  # a refused request gets no answer: do not wait long
    info = await js.stream_info(streams.METRICS.name)  # reading is allowed
    assert info.config.name == streams.METRICS.name
    for call in (js.delete_stream, js.purge_stream):
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await call(streams.METRICS.name)  # type: ignore[operator]
    await service.refused(f"$JS.API.STREAM.DELETE.{streams.METRICS.name}")
    await service.refused(f"$JS.API.STREAM.PURGE.{streams.METRICS.name}")
    admin = await secured.connect(secured.admin)
    assert (await admin.nc.jetstream().stream_info(streams.METRICS.name)).config.name


@pytest.mark.parametrize("name", SERVICES)
async def test_no_service_reads_an_agents_replies(secured: Secured, name: str) -> None:
    service = await _service(secured, name)
    inbox = f"_INBOX.{HOST_A}.>"
    await service.nc.subscribe(inbox)
    await service.nc.flush()
    await service.refused(inbox)


@pytest.mark.parametrize("name", SERVICES)
async def test_no_service_may_change_a_stream_or_delete_a_consumer(
    secured: Secured, name: str
) -> None:
    """A stream's limits rewritten (max_msgs 1 would wipe it) or another's consumer deleted
    (an agent would stop taking commands): refused, whatever the service."""
    admin = await secured.connect(secured.admin)
    await admin.nc.jetstream().add_consumer(
        streams.COMMANDS.name,
        ConsumerConfig(
            name=f"agent-{HOST_A}",
            durable_name=f"agent-{HOST_A}",
            filter_subject=subjects.commands_dispatch(HOST_A),
        ),
    )
    service = await _service(secured, name)
    js = service.nc.jetstream(timeout=0.5)
    config = (await js.stream_info(streams.METRICS.name)).config
    config.max_msgs = 1
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.update_stream(config)
    await service.refused(f"$JS.API.STREAM.UPDATE.{streams.METRICS.name}")
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.delete_consumer(streams.COMMANDS.name, f"agent-{HOST_A}")
    await service.refused(f"$JS.API.CONSUMER.DELETE.{streams.COMMANDS.name}.agent-{HOST_A}")
    ajs = admin.nc.jetstream()
    assert (await ajs.stream_info(streams.METRICS.name)).config.max_msgs == -1
    assert [c.name for c in await ajs.consumers_info(streams.COMMANDS.name)] == [f"agent-{HOST_A}"]


@pytest.mark.parametrize("name", SERVICES)
async def test_a_service_cannot_answer_to_a_reply_subject_outside_an_inbox(
    secured: Secured, name: str
) -> None:
    """With no allow_responses, a request whose reply names a stream's delete API cannot make
    a service publish there (nats-server lets a response through even a deny list)."""
    service = await _service(secured, name)
    await service.nc.publish(f"$JS.API.STREAM.DELETE.{streams.ALERTS.name}", b"")
    await service.nc.flush()
    await service.refused(f"$JS.API.STREAM.DELETE.{streams.ALERTS.name}")
    admin = await secured.connect(secured.admin)
    assert (await admin.nc.jetstream().stream_info(streams.ALERTS.name)).config.name
