"""NatsDoor: a declared operation's NATS endpoint on a real server. The request is decoded into
its Struct, the actor is the caller its subject names (the twin alone may name an operator),
the result comes back in a Reply and a refusal in a Failure; a reply subject outside the
caller's inbox is never answered (serve_nats, tested in test_runtime_doors.py)."""

import asyncio
from collections.abc import AsyncIterator

import msgspec
import nats
import nats.aio.client
import prometheus_client
import pytest_asyncio

from mirror_runtime.doors import ApiError
from mirror_runtime.implementations import implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema.api import Failure, Operation, Reply
from mirror_schema.identities import inbox_prefix
from servers import NatsServer


class Note(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: str
    by: str | None = None


class Noted(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    by: str
    actor: str | None


class Served:
    def __init__(self, unique: str) -> None:
        self.subject = f"t{unique}.api.note"
        self.slow_started = asyncio.Event()  # a request "slow" is being served
        self.slow_may_end = asyncio.Event()
        self.registry = prometheus_client.CollectorRegistry()
        self.requests = prometheus_client.Counter(
            "door_requests", "requests", ["operation", "door", "outcome"], registry=self.registry
        )

    def count(self, outcome: str) -> float:
        labels = {"operation": "note", "door": "nats", "outcome": outcome}
        return self.registry.get_sample_value("door_requests_total", labels) or 0.0


@pytest_asyncio.fixture
async def served(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[Served]:
    made = Served(unique)
    operation = Operation(
        service="notes",
        name="note",
        summary="take a note",
        request=Note,
        result=Noted,
        subject=made.subject,
        actor="by",
    )

    async def note(request: Note, actor: str | None) -> Noted:
        if request.text == "conflict":
            raise ApiError("text: taken", code="conflict")
        if request.text == "slow":
            made.slow_started.set()
            await made.slow_may_end.wait()
        return Noted(text=request.text, by=request.by or "", actor=actor)

    door = NatsDoor(nc, [implement(operation, note)], queue="notes", requests=made.requests)
    await door.start()
    yield made
    await door.stop()


async def ask_as(nats_server: NatsServer, identity: str, subject: str, body: bytes) -> Reply[Noted]:
    client = await nats.connect(nats_server.url, inbox_prefix=inbox_prefix(identity))
    try:
        msg = await client.request(f"{subject}.{identity}", body, timeout=5)
    finally:
        await client.close()
    return msgspec.json.decode(msg.data, type=Reply[Noted])


async def test_the_result_comes_in_a_reply_naming_the_caller(
    served: Served, nats_server: NatsServer
) -> None:
    reply = await ask_as(
        nats_server, "automation-ci", served.subject, b'{"text": "hi", "by": "mallory"}'
    )
    # The body's claim is ignored: the subject names who asked.
    assert reply == Reply(
        result=Noted(text="hi", by="nats:automation-ci", actor="nats:automation-ci")
    )
    assert served.count("ok") == 1


async def test_the_twin_may_name_the_operator_it_acts_for(
    served: Served, nats_server: NatsServer
) -> None:
    reply = await ask_as(nats_server, "twin", served.subject, b'{"text": "hi", "by": "alice"}')
    assert reply.result == Noted(text="hi", by="alice", actor="alice")


async def test_refusals_come_in_a_failure_naming_the_field(
    served: Served, nats_server: NatsServer
) -> None:
    asked = [
        await ask_as(nats_server, "automation-ci", served.subject, body)
        for body in (
            b"{nope",
            b'{"text": 3}',
            b'{"text": "x", "colour": 1}',
            b'{"text": "conflict"}',
        )
    ]
    assert [(r.result, r.code) for r in asked] == [
        (None, "malformed"),
        (None, "invalid"),
        (None, "invalid"),
        (None, "conflict"),
    ]
    assert [r.error.split(":")[0] for r in asked if r.error] == ["body", "text", "colour", "text"]
    assert served.count("invalid") == 2
    failure = msgspec.json.decode(msgspec.json.encode(asked[3]), type=Failure)
    assert failure == Failure(error="text: taken", code="conflict")


async def test_a_slow_request_holds_back_none_of_those_behind_it(
    served: Served, nats_server: NatsServer
) -> None:
    """nats-py hands a subscription's messages over one by one: served in turn, one slow
    request (a password hash on a loaded machine) would make every other time out."""
    slow = asyncio.create_task(
        ask_as(nats_server, "automation-ci", served.subject, b'{"text": "slow"}')
    )
    try:
        async with asyncio.timeout(5):
            await served.slow_started.wait()
        quick = [
            await ask_as(nats_server, "automation-ci", served.subject, b'{"text": "quick"}')
            for _ in range(3)
        ]
        assert [r.result.text for r in quick if r.result] == ["quick"] * 3
        assert not slow.done()
    finally:
        served.slow_may_end.set()
    assert (await slow).result == Noted(
        text="slow", by="nats:automation-ci", actor="nats:automation-ci"
    )
