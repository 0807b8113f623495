"""Clients of bench_commands.py: the commands service's two doors, and what the bus shows."""

import asyncio
import time

import httpx
import msgspec
import nats.aio.client
from nats.aio.msg import Msg

from mirror_schema import codec, subjects
from mirror_schema.api import Reply
from mirror_schema.command_api import CommandRecord, CreatedCommands
from mirror_schema.identities import ADMIN, request_subject


class Page(msgspec.Struct):
    items: list[CommandRecord]
    total: int


class HttpDoor:
    """POST /api/commands, GET /api/commands/{id}."""

    name = "HTTP"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def create(self, body: dict[str, object]) -> str:
        answer = await self.http.post("/api/commands", json=body)
        answer.raise_for_status()
        return msgspec.json.decode(answer.content, type=CreatedCommands).commands[0].id

    async def get(self, command_id: str) -> CommandRecord:
        answer = await self.http.get(f"/api/commands/{command_id}")
        answer.raise_for_status()
        return msgspec.json.decode(answer.content, type=CommandRecord)


class NatsDoor:
    """commands.request, commands.api.get (request/reply)."""

    name = "NATS"

    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc

    async def create(self, body: dict[str, object]) -> str:
        answer = await self.nc.request(
            request_subject(subjects.COMMANDS_REQUEST, ADMIN), msgspec.json.encode(body), 10
        )
        reply = msgspec.json.decode(answer.data, type=Reply[CreatedCommands])
        if reply.result is None:
            raise RuntimeError(f"create over NATS refused: {reply.error}")
        return reply.result.commands[0].id

    async def get(self, command_id: str) -> CommandRecord:
        body = msgspec.json.encode({"id": command_id})
        reply = msgspec.json.decode(
            (
                await self.nc.request(request_subject(subjects.COMMANDS_API_GET, ADMIN), body, 10)
            ).data,
            type=Reply[CommandRecord],
        )
        if reply.result is None:
            raise RuntimeError(f"get over NATS failed: {reply.error}")
        return reply.result


class Sightings:
    """When each command's `running` status and result appeared on the bus (core NATS)."""

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self.running: dict[str, float] = {}
        self.results: dict[str, asyncio.Future[float]] = {}

    def result(self, command_id: str) -> "asyncio.Future[float]":
        return self.results.setdefault(command_id, asyncio.get_running_loop().create_future())

    async def watch(self, nc: nats.aio.client.Client) -> None:
        async def on_status(msg: Msg) -> None:
            self.running[codec.decode_command_status(msg.data).command_id] = time.monotonic()

        async def on_result(msg: Msg) -> None:
            seen = self.result(codec.decode_command_result(msg.data).command_id)
            if not seen.done():
                seen.set_result(time.monotonic())

        await nc.subscribe(subjects.commands_status(self.host_id), cb=on_status)
        await nc.subscribe(subjects.commands_result(self.host_id), cb=on_result)
