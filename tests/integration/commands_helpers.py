"""The commands service as deployed for the integration tests: its NATS, PostgreSQL, HTTP
client, and a fake agent that reports as the real one does."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import nats.aio.client
import nats.js.client
from agent_helpers import write_agent_config
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from twin_helpers import own_nats_server

from callers import ADMIN_INBOX
from loopback_ports import free_port
from mirror_schema import codec, subjects
from mirror_schema.commands import (
    Command,
    CommandResult,
    CommandState,
    CommandStatus,
)
from mirror_stage.supervisor import Supervised
from servers import service_spec
from waiting import wait_until

TIMEOUT = 20.0
ONLINE_SECONDS = 4


@dataclass
class Stack:
    """A running commands service, its NATS and an HTTP client."""

    nc: nats.aio.client.Client
    js: nats.js.client.JetStreamContext
    http: httpx.AsyncClient
    log_path: Path
    service: Supervised
    agents: list["FakeAgent"] = field(default_factory=list)

    async def sample(
        self,
        host_id: str,
        *,
        tags: dict[str, str] | None = None,
        rack: str | None = None,
        hostname: str | None = None,
    ) -> None:
        """Publish a sample of `host_id` as its agent would (claiming `hostname`, by default
        `<host_id>.example.com`)."""
        body = {
            "hostname": hostname or f"{host_id}.example.com",
            "host_id": host_id,
            "timestamp": datetime.now(UTC).isoformat(),
            "cpu_load": 12.5,
            "tags": tags or {},
            "rack": rack,
        }
        await self.js.publish(subjects.metrics_raw(host_id), msgspec.json.encode(body))

    async def sample_every(self, host_id: str, *, seconds: float, count: int) -> None:
        """Publish `count` samples of `host_id`, one every `seconds`, as a live agent does."""
        for _ in range(count):
            await self.sample(host_id)
            await asyncio.sleep(seconds)

    async def label(
        self, host_id: str, *, tags: dict[str, str] | None = None, rack: str | None = None
    ) -> None:
        """Set `host_id`'s labels as an operator does: what a selector matches."""
        answer = await self.http.put(
            f"/api/commands/hosts/{host_id}/labels", json={"tags": tags or {}, "rack": rack}
        )
        assert answer.status_code == 200, answer.text

    async def known(self, host_id: str, *, online: bool = True) -> None:
        """Wait until the service knows `host_id` and sees it online (or, offline: silent for
        longer than the online window)."""

        async def shown() -> bool:
            hosts = (await self.http.get("/api/commands/hosts")).json()["hosts"]
            return any(h["host_id"] == host_id and h["online"] == online for h in hosts)

        state = "online" if online else "offline"
        await wait_until(shown, timeout=TIMEOUT, what=f"{host_id} known and {state}")

    async def create(self, **body: Any) -> list[dict[str, Any]]:
        """POST /api/commands, expecting 201; the commands created."""
        answer = await self.http.post("/api/commands", json=body)
        assert answer.status_code == 201, answer.text
        commands: list[dict[str, Any]] = answer.json()["commands"]
        return commands

    async def get(self, command_id: str) -> dict[str, Any]:
        answer = await self.http.get(f"/api/commands/{command_id}")
        assert answer.status_code == 200, answer.text
        record: dict[str, Any] = answer.json()
        return record

    async def wait_status(self, command_id: str, status: str) -> dict[str, Any]:
        """Poll until the command is in `status`; its record."""
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            seen.update(await self.get(command_id))
            return seen["status"] == status

        await wait_until(reached, timeout=TIMEOUT, what=f"{command_id} {status} (last: {seen})")
        return seen

    async def signing_key(self) -> str:
        """The service's public key, for the agents' `signing_public_key`."""
        answer = await self.http.get("/api/commands/signing-key")
        assert answer.status_code == 200, answer.text
        key: str = answer.json()["public_key"]
        return key

    async def agent_config(
        self, path: Path, host_id: str, commands: str, *, tags: dict[str, str] | None = None
    ) -> Path:
        """A real agent's config for `host_id` on this stack's NATS, trusting its signing key."""
        url = self.nc.connected_url
        assert url is not None
        return write_agent_config(
            path,
            f"nats://{url.hostname}:{url.port}",
            host_id,
            commands,
            tags=tags,
            public_key=await self.signing_key(),
        )

    async def agent(self, host_id: str) -> "FakeAgent":
        agent = FakeAgent(self, host_id)
        await agent.start()
        self.agents.append(agent)
        return agent


class FakeAgent:
    """Reads a host's dispatched commands from COMMANDS and reports as the real agent does."""

    def __init__(self, stack: Stack, host_id: str) -> None:
        self.stack = stack
        self.host_id = host_id
        self.received: list[Command] = []

    async def start(self) -> None:
        async def on_command(msg: Msg) -> None:
            self.received.append(codec.decode_command(msg.data))

        await self.stack.js.subscribe(
            subjects.commands_dispatch(self.host_id),
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            cb=on_command,
        )

    async def wait_for(self, count: int) -> list[Command]:
        await wait_until(
            lambda: len(self.received) >= count,
            timeout=TIMEOUT,
            what=f"{count} command(s) dispatched to {self.host_id}",
        )
        return self.received

    async def status(self, command_id: str, status: str = "running") -> None:
        report = CommandStatus(
            command_id=command_id,
            host_id=self.host_id,
            status=status,  # type: ignore[arg-type]
            timestamp=datetime.now(UTC),
            pid=4242,
        )
        await self.stack.js.publish(subjects.commands_status(self.host_id), codec.encode(report))

    async def result(self, command_id: str, state: CommandState, **fields: Any) -> None:
        now = datetime.now(UTC)
        report = CommandResult(
            command_id=command_id,
            host_id=self.host_id,
            state=state,
            finished_at=now,
            started_at=now - timedelta(seconds=1),
            **fields,
        )
        await self.stack.js.publish(subjects.commands_result(self.host_id), codec.encode(report))


@asynccontextmanager
async def running_commands(tmp_path: Path, database: str) -> AsyncIterator[Stack]:
    """The service on a nats-server of its own (its durable consumer is then its alone)."""
    async with own_nats_server(tmp_path / "nats") as nats_url:
        port = free_port()
        log_path = tmp_path / "commands.log"
        spec = service_spec(
            "commands",
            log_path=log_path,
            nats_url=nats_url,
            port=port,
            db_url=database,
            env={
                "MIRROR_STAGE_COMMANDS_SWEEP_SECONDS": "0.2",
                "MIRROR_STAGE_COMMANDS_CANCEL_TIMEOUT_SECONDS": "1",
                # Short, so that a host is offline a few seconds after its last sample.
                "MIRROR_STAGE_COMMANDS_ONLINE_SECONDS": str(ONLINE_SECONDS),
            },
        )
        address = spec.address
        service = Supervised(spec)
        await service.start()
        stack: Stack | None = None
        nc = await nats.connect(nats_url, inbox_prefix=ADMIN_INBOX)
        try:
            async with httpx.AsyncClient(base_url=address, timeout=10) as http:
                stack = Stack(
                    nc=nc, js=nc.jetstream(), http=http, log_path=log_path, service=service
                )
                yield stack
        finally:
            await nc.close()
            # A test may have restarted the service: stop the one running now.
            await (stack.service if stack is not None else service).stop()
