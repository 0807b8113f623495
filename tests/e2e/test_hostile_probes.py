"""Hostile probes against `mirror-stage up` with authorization on: an enrolled agent, a script,
a service and the web-facing twin each try to do more than their role; every attempt must fail.

On the bus: a sample naming another host or dated ahead, a reply subject aimed at a stream's
API or another's inbox, a request in another's name, a stream rewritten or a consumer deleted,
a pull delivering elsewhere, one agent taking more connections than its own, a claimed
hostname. In the database: a service role reading the signing key, queueing a command, running
a program. Over HTTP: a burst of wrong logins, a
64 MiB body, a socket outliving its logout. (The same boundaries are probed one by one, with
servers of their own, in tests/integration: test_nats_permissions, test_nats_service_permissions,
test_database_roles, test_http_boundaries, test_commands_targeting, test_commands_withdrawal.)

One stack serves the module; each probe ends on a sync point (a legitimate message published
after the hostile one and seen through), so "refused" is never "not arrived yet". What the
probes share (the stack's handle, connections as each identity, readings): probes.py.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import pytest
import pytest_asyncio
import websockets
from probes import (
    AGENT,
    BOT,
    FORGED,
    VICTIM,
    Probe,
    Stage,
    agent_connection,
    as_admin,
    ask_with_hostile_replies,
    cli,
    closed,
    dead_letter_reasons,
    ensure_agent_consumer,
    history_hosts,
    hostname_is,
    last_seq,
    new_user,
    password_checks,
    probe,
    rejected,
    sample,
    seen_through,
    service_database,
    streams_intact,
    twin_hostname,
    twin_knows,
    twin_url,
)
from stack_up import mirror_stage_up, service_process

from mirror_schema import streams, subjects
from mirror_schema.api import Reply
from mirror_schema.command_api import CreatedCommands
from mirror_schema.identities import (
    AGENT_JETSTREAM_PREFIX,
    agent_identity,
    automation_identity,
    inbox_prefix,
    request_subject,
)
from mirror_stage.nats_accounts import AGENT_MAX_CONNECTIONS
from shared_databases import remove_shared_database
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stage]:
    base = tmp_path_factory.mktemp("probes")
    data_dir = base / "stage"
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        data = ("--data-dir", str(data_dir))
        for host in (AGENT, VICTIM):
            await cli(stack.env, "agent", "enroll", host, *data)
        await cli(stack.env, "automation", "add", BOT, *data)
        out = await cli(stack.env, "token", "add", "probes", "--role", "admin", *data)
        stage = Stage(stack, data_dir, out.strip().splitlines()[-1])
        # Both hosts known everywhere before any probe (each probe then stands on its own).
        for host, hostname in ((VICTIM, "victim-real"), (AGENT, "agent-real")):
            nc = await agent_connection(stage, host)
            await nc.jetstream().publish(subjects.metrics_raw(host), sample(hostname))
            await nc.close()
            await seen_through(stage, host, hostname)
        yield stage
    remove_shared_database(data_dir, base)


async def test_an_agent_cannot_invent_or_overwrite_another_host(stage: Stage) -> None:
    """On its own subject, samples naming another host (existing or new) are dead-lettered
    with the reason and counted by every consumer; the twin and history never take them."""
    before = {s: await rejected(stage, s, "host_mismatch") for s in ("twin", "ingest", "alerts")}

    agent = await agent_connection(stage, AGENT)
    js = agent.jetstream()
    own = subjects.metrics_raw(AGENT)
    await js.publish(own, sample("forged", host_id=FORGED, cpu_load=99.0))
    await js.publish(own, sample("victim-real", host_id=VICTIM, cpu_load=99.0))
    await js.publish(own, sample("agent-after-forgery", host_id=AGENT))
    await seen_through(stage, AGENT, "agent-after-forgery")

    assert not await twin_knows(stage, FORGED)
    assert FORGED not in await history_hosts(stage)
    async with stage.http("twin") as http:
        held = (await http.get(f"/api/twin/hosts/{VICTIM}")).json()["sample"]
    assert held["cpu_load"] == 7.0  # the victim's own reading, not the forged 99

    async def both_dead_lettered() -> bool:
        reasons = await dead_letter_reasons(stage, AGENT)
        return sum("names host" in r for r in reasons) >= 2

    await wait_until(both_dead_lettered, timeout=30, what="both forged samples dead-lettered")
    for service in ("twin", "ingest", "alerts"):
        # The alerts evaluator may trail the twin and the history: wait for its count too.
        async def counted(service: str = service) -> bool:
            return await rejected(stage, service, "host_mismatch") - before[service] >= 2

        await wait_until(counted, timeout=30, what=f"{service} counting both forged samples")
        assert await rejected(stage, service, "host_mismatch") - before[service] == 2, service
    await agent.close()


async def test_an_agent_cannot_date_its_samples_in_the_future(stage: Stage) -> None:
    """A sample an hour ahead would freeze the host's status: refused on the NATS path too."""
    agent = await agent_connection(stage, AGENT)
    js = agent.jetstream()
    own = subjects.metrics_raw(AGENT)
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    before = await rejected(stage, "twin", "future_timestamp")
    await js.publish(own, sample("from-the-future", timestamp=ahead))
    await js.publish(own, sample("agent-now"))
    await seen_through(stage, AGENT, "agent-now")
    assert await rejected(stage, "twin", "future_timestamp") - before == 1

    async def dead_lettered() -> bool:
        reasons = await dead_letter_reasons(stage, AGENT)
        return any("ahead of when the server received it" in r for r in reasons)

    await wait_until(dead_lettered, timeout=30, what="the future sample dead-lettered")
    # The host's next honest sample is taken: its status is not frozen.
    await js.publish(own, sample("agent-later"))
    await wait_until(
        lambda: hostname_is(stage, AGENT, "agent-later"), timeout=30, what="a later sample"
    )
    await agent.close()


async def test_the_twin_cannot_point_a_services_answer_at_the_jetstream_api(
    stage: Stage,
) -> None:
    """The web-facing twin asks a service (auth.api.logout) with a reply subject naming a
    stream's delete, purge or update API, another consumer, a stream's subject or an agent's
    inbox: no service answers there, each such request is counted, and everything stands."""
    await ensure_agent_consumer(stage)
    twin = await probe(stage, "twin")
    logout = request_subject(subjects.AUTH_API_LOGOUT, "twin")
    await ask_with_hostile_replies(stage, twin, logout, b'{"session": "x"}')
    await streams_intact(stage, agent_consumer=True)
    # Nor may it ask in another identity's name, or call the JetStream API itself.
    await twin.nc.publish(request_subject(subjects.COMMANDS_REQUEST, "admin"), b"{}")
    await twin.nc.publish(f"$JS.API.STREAM.DELETE.{streams.ALERTS.name}", b"")
    await twin.nc.flush()
    await twin.refused("commands.request.admin")
    await twin.refused(f"$JS.API.STREAM.DELETE.{streams.ALERTS.name}")
    await twin.nc.close()


async def test_a_service_cannot_rewrite_a_stream_or_delete_another_consumer(
    stage: Stage,
) -> None:
    """The ingest's identity (which holds the database and the agents' HTTP tokens) tries
    to set METRICS to one message, to delete the agent's consumer and to send a request."""
    await ensure_agent_consumer(stage)
    ingest = await probe(stage, "ingest")
    js = ingest.nc.jetstream(timeout=1)
    config = (await js.stream_info(streams.METRICS.name)).config
    config.max_msgs = 1
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.update_stream(config)
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.delete_consumer(streams.COMMANDS.name, f"agent-{AGENT}")
    await ingest.nc.publish(request_subject(subjects.COMMANDS_REQUEST, "ingest"), b"{}")
    await ingest.nc.flush()
    await ingest.refused(f"$JS.API.STREAM.UPDATE.{streams.METRICS.name}")
    await ingest.refused(f"$JS.API.CONSUMER.DELETE.{streams.COMMANDS.name}")
    await ingest.refused("commands.request.ingest")
    await streams_intact(stage, agent_consumer=True)
    await ingest.nc.close()


async def test_a_script_cannot_redirect_answers_nor_speak_for_anyone_else(
    stage: Stage,
) -> None:
    """The automation user's requests with hostile reply subjects are dropped and counted;
    its request claiming requested_by "someone-else" is recorded in its own name."""
    bot = await probe(stage, automation_identity(BOT))
    listing = request_subject(subjects.COMMANDS_API_LIST, automation_identity(BOT))
    await ask_with_hostile_replies(stage, bot, listing, b"{}")
    await streams_intact(stage, agent_consumer=False)

    create = request_subject(subjects.COMMANDS_REQUEST, automation_identity(BOT))
    body = {"hostname": VICTIM, "command": "uptime", "requested_by": "someone-else"}
    reply = msgspec.json.decode(
        (await bot.nc.request(create, msgspec.json.encode(body), timeout=10)).data,
        type=Reply[CreatedCommands],
    )
    assert reply.result is not None, reply.error
    (command,) = reply.result.commands
    assert command.requested_by == f"nats:{automation_identity(BOT)}"
    async with stage.http("commands") as http:
        record = (await http.get(f"/api/commands/{command.id}")).json()
    assert record["requested_by"] == f"nats:{automation_identity(BOT)}"
    assert record["events"][0]["actor"] == f"nats:{automation_identity(BOT)}"
    # Nor in another's name: the subject is who asked, and only that identity may send it.
    await bot.nc.publish(request_subject(subjects.COMMANDS_REQUEST, "twin"), b"{}")
    await bot.nc.flush()
    await bot.refused("commands.request.twin")
    await bot.nc.close()


async def test_an_agents_pull_cannot_put_anything_on_another_hosts_subject(
    stage: Stage,
) -> None:
    """A pull request's reply subject is the requester's choice: the agent asks its own
    consumer to deliver to the victim's sample and command subjects. Those are STAGE's
    subjects; in the agent's own account no one listens on them, so the pulls are not served:
    nothing lands on the victim's subjects, not the command, not a status message. The agent
    may not touch a stream or another consumer either, by its own account's API or STAGE's."""
    await ensure_agent_consumer(stage)
    nc = await as_admin(stage)
    ajs = nc.jetstream()
    victim = ((streams.METRICS.name, subjects.metrics_raw(VICTIM)),)
    victim += ((streams.COMMANDS.name, subjects.commands_dispatch(VICTIM)),)
    before = [await last_seq(ajs, stream, subject) for stream, subject in victim]
    await ajs.publish(subjects.commands_dispatch(AGENT), b'{"not": "a signed command"}')
    agent = await probe(stage, agent_identity(AGENT))
    next_msg = f"{AGENT_JETSTREAM_PREFIX}.CONSUMER.MSG.NEXT.{streams.COMMANDS.name}.agent-{AGENT}"
    for _, reply in victim:
        await agent.nc.publish(next_msg, b'{"batch": 5, "expires": 500000000}', reply=reply)
    await agent.nc.flush()

    # Its own pull, sent after them on the same connection, gets the command: they took
    # nothing (nats-server serves no pull whose reply subject no one listens to).
    own = agent.nc.jetstream(prefix=AGENT_JETSTREAM_PREFIX)
    pull = await own.pull_subscribe_bind(durable=f"agent-{AGENT}", stream=streams.COMMANDS.name)
    (command,) = await pull.fetch(1, timeout=10)
    assert command.data == b'{"not": "a signed command"}'
    await command.ack_sync()
    assert [await last_seq(ajs, stream, subject) for stream, subject in victim] == before
    assert await twin_hostname(stage, VICTIM) == "victim-real"
    for api in ("$JS.API", AGENT_JETSTREAM_PREFIX):
        await agent.nc.publish(f"{api}.STREAM.PURGE.{streams.COMMANDS.name}", b"")
        await agent.nc.publish(f"{api}.CONSUMER.DELETE.{streams.COMMANDS.name}.agent-{VICTIM}", b"")
    await agent.nc.publish(request_subject(subjects.COMMANDS_REQUEST, agent_identity(AGENT)), b"")
    await agent.nc.flush()
    for api in ("$JS.API", AGENT_JETSTREAM_PREFIX):
        await agent.refused(f"{api}.STREAM.PURGE.{streams.COMMANDS.name}")
        await agent.refused(f"{api}.CONSUMER.DELETE.{streams.COMMANDS.name}.agent-{VICTIM}")
    await agent.refused("commands.request.agent-")
    await streams_intact(stage, agent_consumer=True)
    await agent.nc.close()
    await nc.close()


async def test_an_agent_cannot_take_more_than_its_own_connections(stage: Stage) -> None:
    """The agent's account caps its connections: the one past the cap is refused by the
    server, while the host it would crowd out still connects and publishes."""
    held = [await agent_connection(stage, AGENT) for _ in range(AGENT_MAX_CONNECTIONS)]
    try:
        refused = Probe()
        with pytest.raises(nats.errors.Error, match="maximum account active connections"):
            await refused.nc.connect(
                stage.nats_url,
                nkeys_seed=stage.credentials(agent_identity(AGENT)),
                inbox_prefix=inbox_prefix(agent_identity(AGENT)),
                error_cb=refused.on_error,
                allow_reconnect=False,
            )
        await refused.nc.close()
        other = await agent_connection(stage, VICTIM)
        ack = await other.jetstream().publish(subjects.metrics_raw(VICTIM), sample("victim-real"))
        assert ack.stream == streams.METRICS.name
        await other.close()
    finally:
        for nc in held:
            await nc.close()


async def test_a_command_aimed_at_a_hostname_reaches_that_host_not_one_claiming_it(
    stage: Stage,
) -> None:
    """The hostile agent's samples claim the victim's hostname; a command aimed at that
    hostname is for the victim's host id (the enrolled identity), never the claimant."""
    agent = await agent_connection(stage, AGENT)
    await agent.jetstream().publish(subjects.metrics_raw(AGENT), sample(VICTIM))
    await agent.close()
    await wait_until(
        lambda: hostname_is(stage, AGENT, VICTIM), timeout=30, what="the claim in the twin"
    )
    async with stage.http("commands") as http:
        answer = await http.post("/api/commands", json={"hostname": VICTIM, "command": "id"})
    assert answer.status_code == 201, answer.text
    assert [c["host_id"] for c in answer.json()["commands"]] == [VICTIM]


# --- the database: each service's role, as the stack set it up ------------------------------


@pytest.mark.parametrize("service", ["ingest", "alerts"])
async def test_a_service_role_cannot_read_the_key_queue_a_command_or_run_a_program(
    stage: Stage, service: str
) -> None:
    """Ingest or alerts, on their own roles, try what would make them root on every host."""
    conn = await service_database(stage, service)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT seed FROM signing_key")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO commands (id, host_id, command) VALUES ('x', 'web-1', 'id')"
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        other = "alert_rules" if service == "ingest" else "metric_samples"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval(f"SELECT count(*) FROM {other}")
        assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    finally:
        await conn.close()


# --- HTTP and the live socket, at the twin (the HUD's one origin) ---------------------------


async def test_a_burst_of_wrong_logins_checks_no_more_passwords_than_the_lock_allows(
    stage: Stage,
) -> None:
    """50 concurrent wrong passwords for one user at the twin: at most 5 are hashed and
    compared before the lock, and then the right password is refused too."""
    password = await new_user(stage, "probe-burst")
    before = await password_checks(stage)
    async with httpx.AsyncClient(base_url=twin_url(stage), timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post("/api/auth/login", json={"user": "probe-burst", "password": f"no-{i}"})
                for i in range(50)
            )
        )
        assert {a.status_code for a in answers} <= {401, 429}
        assert await password_checks(stage) - before <= 5
        right = await http.post(
            "/api/auth/login", json={"user": "probe-burst", "password": password}
        )
        assert right.status_code == 429


async def test_a_64_mib_login_body_is_refused_before_it_is_held(stage: Stage) -> None:
    """The headers announce 64 MiB: the twin answers 413 before reading it, memory flat."""
    twin = service_process(stage.stack, "twin")
    before = twin.memory_info().rss
    port = stage.stack.port("twin")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        # Only the headers and the body's first bytes: the twin answers from the announced
        # length, and may close before more is written (writing on would race that close).
        writer.write(
            f"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {64 * 2**20}\r\n\r\n".encode()
            + b'{"user": "probe", "password": "'
        )
        await writer.drain()
        async with asyncio.timeout(10):  # the other 63 MiB never sent
            status_line = await reader.readline()
    finally:
        writer.close()
    assert b" 413 " in status_line, status_line
    assert twin.memory_info().rss - before < 16 * 2**20


async def test_a_socket_does_not_outlive_its_logout(stage: Stage) -> None:
    password = await new_user(stage, "probe-socket")
    async with httpx.AsyncClient(base_url=twin_url(stage), timeout=20) as http:
        login = await http.post(
            "/api/auth/login", json={"user": "probe-socket", "password": password}
        )
        assert login.status_code == 200, login.text
        cookie = f"mirror_session={http.cookies['mirror_session']}"
        socket_url = twin_url(stage).replace("http", "ws") + "/ws/twin"
        async with websockets.connect(
            socket_url, additional_headers={"Cookie": cookie, "Origin": twin_url(stage)}
        ) as live:
            await live.recv()  # the first frame
            out = await http.post(
                "/api/auth/logout",
                headers={"X-CSRF-Token": login.json()["csrf"], "Origin": twin_url(stage)},
            )
            assert out.status_code == 204, out.text
            await closed(live)
            assert live.close_code == 1008
