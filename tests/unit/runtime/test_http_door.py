"""mount_operations(): an operation's HTTP route built from its declaration. The request is
assembled from the path, the query or the body, the actor is the logged-in one (the body's claim
only without logins), errors answer their status with a detail naming the field, and one
middleware counts every request by operation and outcome."""

from collections.abc import AsyncIterator

import httpx
import msgspec
import prometheus_client
import pytest
import pytest_asyncio
from fastapi import FastAPI

from mirror_runtime.doors import ApiError
from mirror_runtime.http_door import mount_operations
from mirror_runtime.implementations import Implementation, implement
from mirror_schema.api import Http, Items, Operation, Removed


class Thing(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    size: int = 1
    tags: list[str] = []
    by: str | None = None


class ThingQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tags: list[str] = []
    limit: int = 10


class ThingId(msgspec.Struct, frozen=True, kw_only=True):
    id: str


class Wrapped(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    spec: dict[str, int]
    by: str | None = None


PUT = Operation(
    service="things",
    name="put",
    summary="store a thing",
    request=Thing,
    result=Thing,
    http=Http(method="POST", path="/api/things/{id}", status=201),
    actor="by",
)
FIND = Operation(
    service="things",
    name="find",
    summary="find things",
    request=ThingQuery,
    result=Items[Thing],
    http=Http(method="GET", path="/api/things", query=True),
)
DROP = Operation(
    service="things",
    name="drop",
    summary="drop a thing",
    request=ThingId,
    result=Removed,
    http=Http(method="DELETE", path="/api/things/{id}", no_content=True),
    errors=("not_found",),
)
SPEC = Operation(
    service="things",
    name="spec",
    summary="replace a thing's spec (the body)",
    request=Wrapped,
    result=Wrapped,
    http=Http(method="PUT", path="/api/things/{id}/spec", whole_body="spec"),
    actor="by",
)


class MissingError(ApiError):
    code = "not_found"


def implementations(seen: list[object]) -> list[Implementation[object, object]]:
    async def put(thing: Thing, actor: str | None) -> Thing:
        seen.append((thing, actor))
        return thing

    async def find(query: ThingQuery, _actor: str | None) -> Items[Thing]:
        seen.append(query)
        return Items(items=[Thing(id=tag) for tag in query.tags])

    async def drop(request: ThingId, _actor: str | None) -> Removed:
        if request.id == "gone":
            raise MissingError("id: no thing 'gone'")
        if request.id == "away":
            raise ConnectionRefusedError("PostgreSQL is away")
        return Removed(id=request.id)

    async def spec(request: Wrapped, _actor: str | None) -> Wrapped:
        return request

    return [
        implement(PUT, put),
        implement(FIND, find),
        implement(DROP, drop),
        implement(SPEC, spec),
    ]


class Door:
    def __init__(self, http: httpx.AsyncClient, registry: prometheus_client.CollectorRegistry):
        self.http = http
        self.registry = registry
        self.seen: list[object] = []

    def count(self, operation: str, outcome: str) -> float:
        labels = {"operation": operation, "door": "http", "outcome": outcome}
        return self.registry.get_sample_value("things_requests_total", labels) or 0.0


@pytest_asyncio.fixture
async def door() -> AsyncIterator[Door]:
    registry = prometheus_client.CollectorRegistry()
    requests = prometheus_client.Counter(
        "things_requests", "requests", ["operation", "door", "outcome"], registry=registry
    )
    app = FastAPI()
    seen: list[object] = []
    mount_operations(app, implementations(seen), requests=requests, default_actor="http")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        made = Door(http, registry)
        made.seen = seen
        yield made


async def test_the_path_and_the_body_make_the_request(door: Door) -> None:
    answer = await door.http.post("/api/things/t-1", json={"size": 3, "by": "mallory"})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"id": "t-1", "size": 3, "tags": [], "by": "mallory"}
    # No one logged in: the body's claim is who acts (with logins on, the principal is).
    assert door.seen == [(Thing(id="t-1", size=3, by="mallory"), "mallory")]
    assert door.count("put", "ok") == 1


async def test_without_a_claim_the_default_actor_acts(door: Door) -> None:
    answer = await door.http.post("/api/things/t-2")
    assert answer.status_code == 201, answer.text
    assert answer.json()["by"] == "http"


async def test_a_body_may_not_name_the_path_field(door: Door) -> None:
    answer = await door.http.post("/api/things/t-1", json={"id": "other"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("id: ")
    assert door.count("put", "invalid") == 1


@pytest.mark.parametrize(
    ("body", "status", "start"),
    [
        (b"{nope", 400, "body: not valid JSON"),
        (b"[1]", 422, "body: Expected `object`"),
        (b'{"size": "3"}', 422, "size: Expected `int`"),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field(
    door: Door, body: bytes, status: int, start: str
) -> None:
    answer = await door.http.post("/api/things/t-1", content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(start), answer.text


async def test_the_query_string_makes_the_request(door: Door) -> None:
    answer = await door.http.get("/api/things", params={"tags": "a, b,", "limit": "5"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "items": [
            {"id": "a", "size": 1, "tags": [], "by": None},
            {"id": "b", "size": 1, "tags": [], "by": None},
        ]
    }
    assert door.seen == [ThingQuery(tags=["a", "b"], limit=5)]
    unknown = await door.http.get("/api/things", params={"colour": "red"})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["detail"]
    bad = await door.http.get("/api/things", params={"limit": "x"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("limit: ")


async def test_no_content_errors_and_transient_failures(door: Door) -> None:
    done = await door.http.delete("/api/things/t-1")
    assert (done.status_code, done.content) == (204, b"")
    gone = await door.http.delete("/api/things/gone")
    assert (gone.status_code, gone.json()) == (404, {"detail": "id: no thing 'gone'"})
    away = await door.http.delete("/api/things/away")
    assert away.status_code == 503
    assert "PostgreSQL is away" in away.json()["detail"]
    assert [door.count("drop", o) for o in ("ok", "not_found", "unavailable")] == [1, 1, 1]


async def test_a_whole_body_fills_one_field(door: Door) -> None:
    answer = await door.http.put("/api/things/t-1/spec", json={"cpu": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": "t-1", "spec": {"cpu": 2}, "by": "http"}


def test_the_apps_description_carries_the_operations() -> None:
    app = FastAPI()
    requests = prometheus_client.Counter(
        "described_requests",
        "requests",
        ["operation", "door", "outcome"],
        registry=prometheus_client.CollectorRegistry(),
    )
    mount_operations(app, implementations([]), requests=requests)
    paths = app.openapi()["paths"]
    assert paths["/api/things/{id}"]["post"]["operationId"] == "things.put"
    assert set(paths["/api/things/{id}"]) == {"post", "delete"}
