"""serve_nats(): a service's NATS door on a real server. Every request is answered, with
its result or an error naming the field, except one that wants its answer outside its
caller's own inbox: that one is dropped and counted, never answered."""

from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import nats
import nats.aio.client
import prometheus_client
import pytest
import pytest_asyncio
from nats.aio.msg import Msg

from mirror_runtime.doors import TRANSIENT, ApiError, serve_nats
from mirror_schema.identities import inbox_prefix
from servers import NatsServer

CALLER = "automation-ci"


class Reply(msgspec.Struct, omit_defaults=True):
    value: str | None = None
    error: str | None = None
    code: str | None = None


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


async def answer(msg: Msg) -> Reply:
    """The operation behind the door: what it does depends on the request's payload."""
    match msg.data:
        case b"missing":
            raise NotFoundError("id: no command 'c-9'")
        case b"away":
            raise ConnectionRefusedError("PostgreSQL is away")
        case b"bug":
            raise KeyError("secret internal state")
        case b"huge":
            return Reply(value="x" * (msg._client.max_payload + 1))
    return Reply(value=msg.data.decode())


class Door:
    """One endpoint served by serve_nats, with counters of its own."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.registry = prometheus_client.CollectorRegistry()
        self.requests = prometheus_client.Counter(
            "door_requests", "requests", ["operation", "door", "outcome"], registry=self.registry
        )
        self.ran: list[bytes] = []

    async def on_request(self, msg: Msg) -> None:
        async def run() -> Reply:
            self.ran.append(msg.data)
            return await answer(msg)

        await serve_nats(msg, "get", run, requests=self.requests, transient=TRANSIENT)

    def count(self, outcome: str) -> float:
        labels = {"operation": "get", "door": "nats", "outcome": outcome}
        return self.registry.get_sample_value("door_requests_total", labels) or 0.0


@pytest_asyncio.fixture
async def door(nc: nats.aio.client.Client, unique: str) -> AsyncIterator[Door]:
    """`t<unique>.api.get.<caller>` served on the test's connection."""
    served = Door(f"t{unique}.api.get")
    subscription = await nc.subscribe(f"{served.endpoint}.*", cb=served.on_request)
    yield served
    await subscription.unsubscribe()


@pytest_asyncio.fixture
async def caller(nats_server: NatsServer) -> AsyncIterator[nats.aio.client.Client]:
    """A client whose replies come to CALLER's own inbox, as its permissions would force."""
    client = await nats.connect(nats_server.url, inbox_prefix=inbox_prefix(CALLER))
    yield client
    await client.close()


Ask = Callable[[bytes], Awaitable[Reply]]


@pytest.fixture
def ask(door: Door, caller: nats.aio.client.Client) -> Ask:
    async def request(payload: bytes) -> Reply:
        msg = await caller.request(f"{door.endpoint}.{CALLER}", payload, timeout=5)
        return msgspec.json.decode(msg.data, type=Reply)

    return request


async def test_a_result_is_answered_to_the_callers_inbox(door: Door, ask: Ask) -> None:
    """The operation's result comes back, counted ok."""
    assert await ask(b"web-01") == Reply(value="web-01")
    assert door.count("ok") == 1


async def test_a_refused_request_is_answered_with_its_code_and_detail(door: Door, ask: Ask) -> None:
    """An ApiError is never silence: its detail (naming the field) and its code come back."""
    assert await ask(b"missing") == Reply(error="id: no command 'c-9'", code="not_found")
    assert door.count("not_found") == 1


async def test_a_transient_failure_is_answered_unavailable(door: Door, ask: Ask) -> None:
    """The database away: `unavailable`, with the reason and a hint to try again."""
    reply = await ask(b"away")
    assert reply.code == "unavailable"
    assert reply.error is not None
    assert "PostgreSQL is away" in reply.error
    assert door.count("unavailable") == 1


async def test_a_bug_is_answered_internal_without_its_details(door: Door, ask: Ask) -> None:
    """A crash answers `internal` and points to the log; what the bug held stays there."""
    reply = await ask(b"bug")
    assert reply == Reply(error="internal error; see the service's log", code="internal")
    assert door.count("internal") == 1


async def test_an_answer_larger_than_the_bus_carries_says_so(door: Door, ask: Ask) -> None:
    """Too large a result is not silence (the caller would wait until its timeout): a refusal
    with its size, and what to ask for instead."""
    reply = await ask(b"huge")
    assert reply.code == "invalid"
    assert reply.error is not None
    assert "more than NATS carries in one message; ask for less" in reply.error
    assert door.count("too_large") == 1
    assert door.count("ok") == 0


async def test_a_reply_outside_the_callers_inbox_is_dropped_and_counted(
    door: Door, ask: Ask, caller: nats.aio.client.Client
) -> None:
    """A request from CALLER asking for its answer in an agent's inbox is never run nor
    answered. It is proven by a request sent after it on the same connection: requests are
    served in order, so once the second is answered the first would have been too."""
    foreign = "_INBOX.web-01.stolen"
    watching = await caller.subscribe(foreign)
    await caller.publish(f"{door.endpoint}.{CALLER}", b"forged", reply=foreign)
    assert await ask(b"after") == Reply(value="after")
    assert watching.delivered == 0
    assert door.ran == [b"after"]
    assert door.count("foreign_reply") == 1


@pytest.mark.parametrize(
    ("token", "reply", "outcome"),
    [
        # Even inside the caller's inbox, a wildcard is not a subject to answer on.
        (CALLER, f"{inbox_prefix(CALLER)}.>", "foreign_reply"),
        # `<endpoint>.<token>` whose token is no identity: nobody to answer to.
        ("Not_An_Identity", f"{inbox_prefix(CALLER)}.x", "no_caller"),
        # A publish with no reply subject asks nothing.
        (CALLER, "", "no_reply_subject"),
    ],
)
async def test_a_request_with_no_rightful_answer_is_dropped_and_counted(
    door: Door,
    ask: Ask,
    caller: nats.aio.client.Client,
    token: str,
    reply: str,
    outcome: str,
) -> None:
    """Not run, not answered, counted by why (proven as above, by a request after it)."""
    await caller.publish(f"{door.endpoint}.{token}", b"forged", reply=reply)
    assert await ask(b"after") == Reply(value="after")
    assert door.ran == [b"after"]
    assert door.count(outcome) == 1
