"""Hostile probes against `mirror-stage up` with authorization on: an enrolled agent, a script
and the web-facing twin each try to do more than their role; every attempt must fail.

One stack serves the module; each probe ends on a sync point (a legitimate message published
after the hostile one and seen through), so "refused" is never "not arrived yet".
"""

import asyncio
import re
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import pytest
import pytest_asyncio
from test_launcher import RunningStack, admin, mirror_stage_up

from mirror_schema import streams, subjects
from mirror_stage.postgres import postgres_account, postgres_root
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENT = "probe-agent"  # enrolled: the hostile agent
VICTIM = "probe-victim"  # enrolled too: the host it tries to impersonate
FORGED = "probe-forged"  # not enrolled: a host it tries to invent


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


async def mirror_stage(env: dict[str, str], *args: str) -> str:
    """Run `python -m mirror_stage ARGS`; its output (fails the test on a non-zero exit)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stage]:
    base = tmp_path_factory.mktemp("probes")
    data_dir = base / "stage"
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        data = ("--data-dir", str(data_dir))
        for host in (AGENT, VICTIM):
            await mirror_stage(stack.env, "agent", "enroll", host, *data)
        out = await mirror_stage(stack.env, "token", "add", "probes", "--role", "admin", *data)
        yield Stage(stack, data_dir, out.strip().splitlines()[-1])
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
    async with stage.http(service) as http:
        text = (await http.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("mirror_rejected_total{") and f'reason="{reason}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


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
    history: everything published before it on that subject has been dealt with."""

    async def twin_has_it() -> bool:
        return await twin_hostname(stage, host) == marker

    await wait_until(twin_has_it, timeout=30, what=f"{host}'s sample {marker} in the twin")
    await wait_until(
        lambda: _in_history(stage, host), timeout=30, what=f"{host}'s sample in the history"
    )


async def _in_history(stage: Stage, host: str) -> bool:
    return host in await history_hosts(stage)


async def test_an_agent_cannot_invent_or_overwrite_another_host(stage: Stage) -> None:
    """On its own subject, samples naming another host (existing or new) are dead-lettered
    with the reason and counted by every consumer; the twin and history never take them."""
    victim = await agent_connection(stage, VICTIM)
    await victim.jetstream().publish(subjects.metrics_raw(VICTIM), sample("victim-real"))
    await seen_through(stage, VICTIM, "victim-real")
    before = {s: await rejected(stage, s, "host_mismatch") for s in ("twin", "ingest", "alerts")}

    agent = await agent_connection(stage, AGENT)
    js = agent.jetstream()
    own = subjects.metrics_raw(AGENT)
    await js.publish(own, sample("forged", host_id=FORGED, cpu_load=99.0))
    await js.publish(own, sample("victim-real", host_id=VICTIM, cpu_load=99.0))
    await js.publish(own, sample("agent-real", host_id=AGENT))
    await seen_through(stage, AGENT, "agent-real")

    assert not await twin_knows(stage, FORGED)
    assert FORGED not in await history_hosts(stage)
    async with stage.http("twin") as http:
        held = (await http.get(f"/api/twin/hosts/{VICTIM}")).json()["sample"]
    assert held["cpu_load"] == 7.0  # the victim's own reading, not the forged 99
    reasons = await dead_letter_reasons(stage, AGENT)
    assert sum("host_mismatch" in r or "names host" in r for r in reasons) >= 2, reasons
    for service in ("twin", "ingest", "alerts"):
        after = await rejected(stage, service, "host_mismatch")
        assert after - before[service] == 2, service
    await agent.close()
    await victim.close()


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
    reasons = await dead_letter_reasons(stage, AGENT)
    assert any(re.search(r"ahead of when the server received it", r) for r in reasons), reasons
    # The host's next honest sample is taken: its status is not frozen.
    await js.publish(own, sample("agent-later"))
    await wait_until(
        lambda: _hostname_is(stage, AGENT, "agent-later"), timeout=30, what="a later sample"
    )
    await agent.close()


async def _hostname_is(stage: Stage, host: str, hostname: str) -> bool:
    return await twin_hostname(stage, host) == hostname


async def test_streams_are_there(stage: Stage) -> None:
    """The admin reads every stream the probes depend on (a sanity check of the fixture)."""
    nc = await nats.connect(stage.nats_url, nkeys_seed=admin(stage.data_dir))
    try:
        for stream in (streams.METRICS, streams.ALERTS, streams.COMMANDS):
            info = await nc.jetstream().stream_info(stream.name)
            assert info.config.name == stream.name
    finally:
        await nc.close()
