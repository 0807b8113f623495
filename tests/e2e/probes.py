"""What the hostile probes (test_hostile_probes.py) share: the stack they run against, the
identities they act as, and how they read what each service did with what they sent."""

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import websockets
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from stack_up import RunningStack, admin, service_process

from mirror_agent.jetstream import agent_jetstream
from mirror_schema import streams, subjects
from mirror_schema.identities import (
    ADMIN,
    agent_identity,
    inbox_prefix,
)
from stack_cli import counter, mirror_stage
from waiting import wait_until

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


async def hostname_is(stage: Stage, host: str, hostname: str) -> bool:
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


async def last_seq(js: JetStreamContext, stream: str, subject: str) -> int:
    """The sequence of the newest message on `subject` in `stream`; 0 when there is none."""
    try:
        return (await js.get_last_msg(stream, subject)).seq or 0
    except nats.js.errors.NotFoundError:
        return 0


async def service_database(stage: Stage, service: str) -> asyncpg.Connection:
    """A connection with the role the stack gave `service` (its address, its pgpass file)."""
    url = service_process(stage.stack, service).environ()["MIRROR_STAGE_DB_URL"]
    return await asyncpg.connect(url)


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
