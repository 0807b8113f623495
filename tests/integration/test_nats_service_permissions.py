"""Each service's NATS identity does its own work and no other's: only the commands service
dispatches commands, only the ingest (and agents) publish samples, only alerts publishes
alert events, and no service may delete or purge a stream or read an agent's replies."""

import nats.errors
import pytest
from nats_auth_helpers import HOST_A, SERVICES, Client, Secured

from mirror_schema import streams, subjects

# What each service may not publish: another service's work.
FORBIDDEN = {
    # The twin forwards the HUD's commands, alert acks and history reads; nothing else.
    "twin": (
        subjects.commands_dispatch(HOST_A),
        subjects.metrics_raw(HOST_A),
        subjects.alerts_events(HOST_A),
        subjects.ALERTS_API_RULES_CREATE,
        subjects.ALERTS_API_SILENCES_CREATE,
        subjects.COMMANDS_API_SIGNING_KEY,
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
    return await secured.connect(secured.services[name], inbox=subjects.service_inbox_prefix(name))


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
