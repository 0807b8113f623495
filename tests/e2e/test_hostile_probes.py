"""Hostile probes against `mirror-stage up` with authorization on: an enrolled agent, a script,
a service and the web-facing twin each try to do more than their role; every attempt must fail.

On the bus: a sample naming another host or dated ahead, a reply subject aimed at a stream's
API or another's inbox, a request in another's name, a stream rewritten or a consumer deleted,
a pull delivering elsewhere, one agent taking more connections than its own, a claimed
hostname. In the database: a service role reading the
signing key, queueing a command, running a program. Over HTTP: a burst of wrong logins, a
64 MiB body, a socket outliving its logout. (The same boundaries are probed one by one, with
servers of their own, in tests/integration: test_nats_permissions, test_nats_service_permissions,
test_database_roles, test_http_boundaries, test_commands_targeting, test_commands_withdrawal.)

One stack serves the module; each probe ends on a sync point (a legitimate message published
after the hostile one and seen through), so "refused" is never "not arrived yet".
"""

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from stack_up import RunningStack, admin, mirror_stage_up, service_process

from mirror_agent.jetstream import agent_jetstream
from mirror_schema import codec, streams, subjects
from mirror_schema.identities import (
    ADMIN,
    AGENT_JETSTREAM_PREFIX,
    agent_identity,
    automation_identity,
    inbox_prefix,
    request_subject,
)
from mirror_stage.nats_accounts import AGENT_MAX_CONNECTIONS
from mirror_stage.postgres import postgres_account, postgres_root
from stack_cli import counter, mirror_stage
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENT = "probe-agent"  # enrolled: the hostile agent
VICTIM = "probe-victim"  # enrolled too: the host it tries to impersonate
FORGED = "probe-forged"  # not enrolled: a host it tries to invent
BOT = "probe-bot"  # an automation user: a script


@dataclass
class Stage:
    """The running stack, its data dir and an operator's API token."""

    stack: RunningStack
    data_dir: Path
    token: str

    @property
    def nats_url(self) -> str:
        return self.stack.env["MIRROR_STAGE_NATS_URL"]

    def http(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.stack.port(service)}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=20,
        )

    def credentials(self, name: str) -> str:
        return str(self.data_dir / "identities" / f"{name}.nk")


async def cli(env: dict[str, str], *args: str) -> str:
    """Run `mirror-stage ARGS`; its output (fails the test on a non-zero exit)."""
    code, out = await mirror_stage(env, *args)
    assert code == 0, out
    return out


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
    root = postgres_root(data_dir, postgres_account()) if data_dir.exists() else data_dir
    if not root.is_relative_to(base):
        shutil.rmtree(root, ignore_errors=True)


async def agent_connection(stage: Stage, host: str) -> nats.aio.client.Client:
    return await nats.connect(
        stage.nats_url,
        nkeys_seed=stage.credentials(f"agent-{host}"),
        inbox_prefix=f"_INBOX.{host}",
        allow_reconnect=False,
    )


def sample(hostname: str, **fields: object) -> bytes:
    body: dict[str, object] = {
        "hostname": hostname,
        "timestamp": datetime.now(UTC).isoformat(),
        "cpu_load": 7.0,
        "memory_used_percent": 20.0,
    }
    return msgspec.json.encode(body | fields)


async def rejected(stage: Stage, service: str, reason: str) -> float:
    """`mirror_rejected_total{reason}` summed over the consumers of one service."""
    url = f"http://127.0.0.1:{stage.stack.port(service)}"
    return await counter(url, "mirror_rejected_total", f'reason="{reason}"')


async def twin_knows(stage: Stage, host: str) -> bool:
    async with stage.http("twin") as http:
        return (await http.get(f"/api/twin/hosts/{host}")).status_code == 200


async def twin_hostname(stage: Stage, host: str) -> str | None:
    async with stage.http("twin") as http:
        answer = await http.get(f"/api/twin/hosts/{host}")
    return str(answer.json()["sample"]["hostname"]) if answer.status_code == 200 else None


async def history_hosts(stage: Stage) -> set[str]:
    async with stage.http("ingest") as http:
        answer = await http.get("/api/hosts")
    assert answer.status_code == 200, answer.text
    return {str(entry["host_id"]) for entry in answer.json()["hosts"]}


async def dead_letter_reasons(stage: Stage, host: str) -> list[str]:
    """The reasons given for every dead-lettered sample of `host`'s subject, read as admin."""
    nc = await nats.connect(stage.nats_url, nkeys_seed=admin(stage.data_dir))
    try:
        js = nc.jetstream()
        subject = subjects.dead_letter(subjects.metrics_raw(host))
        try:
            sub = await js.subscribe(subject, ordered_consumer=True)
        except nats.js.errors.NotFoundError:
            return []
        reasons = []
        while True:
            try:
                msg = await sub.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                return reasons
            reasons.append((msg.headers or {}).get("Mirror-Dead-Letter-Reason", ""))
    finally:
        await nc.close()


async def seen_through(stage: Stage, host: str, marker: str) -> None:
    """Wait until a legitimate sample of `host` with hostname `marker` reached the twin and
    the history: everything published before it on that subject has been dealt with there."""

    async def twin_has_it() -> bool:
        return await twin_hostname(stage, host) == marker

    async def history_has_it() -> bool:
        async with stage.http("ingest") as http:
            answer = await http.get("/api/hosts")
        return any(
            entry["host_id"] == host and entry["hostname"] == marker
            for entry in answer.json()["hosts"]
        )

    await wait_until(twin_has_it, timeout=30, what=f"{host}'s sample {marker} in the twin")
    await wait_until(history_has_it, timeout=30, what=f"{host}'s sample {marker} in history")


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
        lambda: _hostname_is(stage, AGENT, "agent-later"), timeout=30, what="a later sample"
    )
    await agent.close()


async def _hostname_is(stage: Stage, host: str, hostname: str) -> bool:
    return await twin_hostname(stage, host) == hostname


class Probe:
    """A connection as one identity, recording what the server refused it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc = nats.aio.client.Client()

    async def on_error(self, exc: Exception) -> None:
        self.errors.append(str(exc).lower())

    async def refused(self, words: str) -> None:
        await wait_until(
            lambda: any("permissions violation" in e and words.lower() in e for e in self.errors),
            timeout=10,
            what=f"the server to refuse {words}",
        )


async def probe(stage: Stage, identity: str) -> Probe:
    """Connect as `identity` (its credentials file), with its own inbox prefix."""
    client = Probe()
    await client.nc.connect(
        stage.nats_url,
        nkeys_seed=stage.credentials(identity),
        inbox_prefix=inbox_prefix(identity),
        error_cb=client.on_error,
        allow_reconnect=False,
    )
    return client


async def as_admin(stage: Stage) -> nats.aio.client.Client:
    return await nats.connect(
        stage.nats_url, nkeys_seed=admin(stage.data_dir), inbox_prefix=inbox_prefix(ADMIN)
    )


async def rejected_replies(stage: Stage) -> float:
    """Requests dropped because their reply subject was outside the caller's inbox."""
    return sum(
        [await rejected(stage, s, "reply_subject") for s in ("ingest", "alerts", "commands")]
    )


async def streams_intact(stage: Stage, agent_consumer: bool) -> None:
    """Every stream is there with its limits, and (when made) the agent's consumer."""
    nc = await as_admin(stage)
    try:
        js = nc.jetstream()
        for spec in streams.STREAMS:
            info = await js.stream_info(spec.name)
            assert info.config.max_msgs == spec.max_msgs, spec.name
            assert info.config.deny_delete, spec.name
            assert info.config.deny_purge, spec.name
        if agent_consumer:
            await js.consumer_info(streams.COMMANDS.name, f"agent-{AGENT}")
    finally:
        await nc.close()


# Reply subjects a hostile requester would like a service's answer to land on.
HOSTILE_REPLIES = (
    f"$JS.API.STREAM.DELETE.{streams.ALERTS.name}",
    f"$JS.API.STREAM.PURGE.{streams.METRICS.name}",
    f"$JS.API.STREAM.UPDATE.{streams.METRICS.name}",
    f"$JS.API.CONSUMER.DELETE.{streams.COMMANDS.name}.agent-{AGENT}",
    subjects.metrics_raw(VICTIM),
    f"{inbox_prefix(agent_identity(VICTIM))}.forged",
)


async def ask_with_hostile_replies(stage: Stage, client: Probe, subject: str, body: bytes) -> None:
    """Send one request on `subject` per hostile reply subject; wait until the services have
    dropped and counted every one (none is answered)."""
    before = await rejected_replies(stage)
    for reply in HOSTILE_REPLIES:
        await client.nc.publish(subject, body, reply=reply)
    await client.nc.flush()

    async def all_counted() -> bool:
        return await rejected_replies(stage) - before == len(HOSTILE_REPLIES)

    await wait_until(all_counted, timeout=20, what="every hostile reply subject counted")


async def ensure_agent_consumer(stage: Stage) -> None:
    """The hostile agent's own consumer on COMMANDS, made as its agent makes it."""
    agent = await agent_connection(stage, AGENT)
    try:
        await (await agent_jetstream(agent)).add_consumer(
            streams.COMMANDS.name,
            ConsumerConfig(
                name=f"agent-{AGENT}",
                durable_name=f"agent-{AGENT}",
                filter_subject=subjects.commands_dispatch(AGENT),
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
    finally:
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
    reply = codec.decode_command_reply(
        (await bot.nc.request(create, msgspec.json.encode(body), timeout=10)).data
    )
    assert reply.error is None, reply.error
    (command,) = reply.commands
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


async def last_seq(js: JetStreamContext, stream: str, subject: str) -> int:
    """The sequence of the newest message on `subject` in `stream`; 0 when there is none."""
    try:
        return (await js.get_last_msg(stream, subject)).seq or 0
    except nats.js.errors.NotFoundError:
        return 0


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
        lambda: _hostname_is(stage, AGENT, VICTIM), timeout=30, what="the claim in the twin"
    )
    async with stage.http("commands") as http:
        answer = await http.post("/api/commands", json={"hostname": VICTIM, "command": "id"})
    assert answer.status_code == 201, answer.text
    assert [c["host_id"] for c in answer.json()["commands"]] == [VICTIM]


# --- the database: each service's role, as the stack set it up ------------------------------


async def service_database(stage: Stage, service: str) -> asyncpg.Connection:
    """A connection with the role the stack gave `service` (its address, its pgpass file)."""
    url = service_process(stage.stack, service).environ()["MIRROR_STAGE_DB_URL"]
    return await asyncpg.connect(url)


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


async def password_checks(stage: Stage) -> float:
    """Passwords hashed and compared, over every service that answers logins."""
    services = ("ingest", "alerts", "commands")
    urls = [f"http://127.0.0.1:{stage.stack.port(s)}" for s in services]
    return sum([await counter(url, "mirror_auth_password_checks_total") for url in urls])


async def new_user(stage: Stage, name: str) -> str:
    """A user with a password of their own (the one-time one replaced): the password."""
    out = await cli(stage.stack.env, "user", "add", name, "--data-dir", str(stage.data_dir))
    found = re.search(r"one-time password \(shown once\): (\S+)", out)
    assert found is not None, out
    password = f"{name}-chosen-password"
    async with httpx.AsyncClient(base_url=twin_url(stage), timeout=20) as http:
        login = await http.post("/api/auth/login", json={"user": name, "password": found[1]})
        assert login.status_code == 200, login.text
        changed = await http.post(
            "/api/auth/password",
            json={"current": found[1], "new": password},
            headers={"X-CSRF-Token": login.json()["csrf"], "Origin": twin_url(stage)},
        )
        assert changed.status_code in (200, 204), changed.text
    return password


def twin_url(stage: Stage) -> str:
    return f"http://127.0.0.1:{stage.stack.port('twin')}"


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


async def closed(live: websockets.ClientConnection) -> None:
    """Read until the server closes the socket; fail if it is still open after a second."""
    try:
        async with asyncio.timeout(1):
            while True:
                await live.recv()
    except websockets.ConnectionClosed:
        return
    except TimeoutError:
        raise AssertionError("the socket is still open a second after the logout") from None
