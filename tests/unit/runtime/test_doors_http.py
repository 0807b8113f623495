"""guard_http(): an HTTP route's outcome as its answer, counted by operation and outcome."""

import asyncio

import msgspec
import prometheus_client
import pytest
from fastapi import Response
from nats.aio.msg import Msg

from mirror_runtime.doors import (
    TRANSIENT,
    ApiError,
    error_response,
    guard_http,
    json_response,
    request_caller,
)
from mirror_schema.errors import SchemaError


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


@pytest.fixture
def registry() -> prometheus_client.CollectorRegistry:
    """A registry of the test's own, so that tests do not share counts."""
    return prometheus_client.CollectorRegistry()


@pytest.fixture
def requests(registry: prometheus_client.CollectorRegistry) -> prometheus_client.Counter:
    return prometheus_client.Counter(
        "test_requests", "requests", ["operation", "door", "outcome"], registry=registry
    )


def count(registry: prometheus_client.CollectorRegistry, operation: str, outcome: str) -> float:
    labels = {"operation": operation, "door": "http", "outcome": outcome}
    return registry.get_sample_value("test_requests_total", labels) or 0.0


async def test_a_result_is_answered_as_it_is_and_counted_ok(
    requests: prometheus_client.Counter, registry: prometheus_client.CollectorRegistry
) -> None:
    """The route's own response goes out unchanged."""

    async def run() -> Response:
        return json_response({"hosts": 3})

    response = await guard_http("list", run, requests=requests, transient=TRANSIENT)
    assert (response.status_code, msgspec.json.decode(response.body)) == (200, {"hosts": 3})
    assert count(registry, "list", "ok") == 1


async def test_an_api_error_becomes_its_status_with_the_detail(
    requests: prometheus_client.Counter, registry: prometheus_client.CollectorRegistry
) -> None:
    """A refused request answers the error's status and names the field in `detail`."""

    async def run() -> Response:
        raise NotFoundError("id: no command 'c-1'")

    response = await guard_http("get", run, requests=requests, transient=TRANSIENT)
    assert response.status_code == 404
    assert msgspec.json.decode(response.body) == {"detail": "id: no command 'c-1'"}
    assert count(registry, "get", "not_found") == 1
    assert count(registry, "get", "ok") == 0


async def test_a_transient_failure_becomes_503_saying_try_again(
    requests: prometheus_client.Counter, registry: prometheus_client.CollectorRegistry
) -> None:
    """The database or the bus away: 503 with the reason, never a 500."""

    async def run() -> Response:
        raise ConnectionResetError("connection reset by peer")

    response = await guard_http("get", run, requests=requests, transient=TRANSIENT)
    assert response.status_code == 503
    detail = msgspec.json.decode(response.body)["detail"]
    assert "connection reset by peer" in detail
    assert detail.endswith("try again")
    assert count(registry, "get", "unavailable") == 1


async def test_a_bug_is_not_swallowed(
    requests: prometheus_client.Counter, registry: prometheus_client.CollectorRegistry
) -> None:
    """Anything neither refused nor transient goes up to the framework's own edge."""

    async def run() -> Response:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await guard_http("get", run, requests=requests, transient=TRANSIENT)
    assert count(registry, "get", "ok") == 0


async def test_cancellation_is_not_taken_for_a_transient_failure(
    requests: prometheus_client.Counter, registry: prometheus_client.CollectorRegistry
) -> None:
    """A cancelled route stays cancelled (CancelledError is no TimeoutError)."""

    async def run() -> Response:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await guard_http("get", run, requests=requests, transient=TRANSIENT)
    assert count(registry, "get", "unavailable") == 0


def test_error_response_carries_the_status_and_detail() -> None:
    """`{"detail": ...}` as JSON with the given status."""
    response = error_response(409, "id: already exists")
    assert response.status_code == 409
    assert response.media_type == "application/json"
    assert msgspec.json.decode(response.body) == {"detail": "id: already exists"}


def test_the_caller_is_the_last_token_of_the_subject() -> None:
    """`<endpoint>.<caller>`: the identity the server let publish there."""
    msg = Msg(_client=None, subject="commands.api.get.automation-ci")  # type: ignore[arg-type]
    assert request_caller(msg).identity == "automation-ci"


def test_a_subject_naming_no_identity_is_refused() -> None:
    """A last token that is no identity name raises SchemaError."""
    msg = Msg(_client=None, subject="commands.api.get.Not_A_Host!")  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        request_caller(msg)
