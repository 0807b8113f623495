"""The twin's forwarding: the HUD's query strings become the declared requests, and the owning
services' replies become the statuses their own HTTP APIs would answer (one table)."""

import msgspec
import pytest

from mirror_runtime.doors import ApiError
from mirror_runtime.requests_in import from_http
from mirror_schema import alert_operations, command_operations
from mirror_schema.command_api import CommandState, ListCommandsRequest
from mirror_twin.forward import FORWARDED, open_reply


def test_a_query_becomes_a_request_with_lists_and_numbers() -> None:
    request = from_http(
        command_operations.LIST,
        {},
        {"hostname": "web-01", "status": "failed, timed_out,", "page": "2", "search": ""},
        b"",
    )
    assert request == ListCommandsRequest(
        hostname="web-01", status=[CommandState.FAILED, CommandState.TIMED_OUT], page=2
    )


def test_a_number_that_is_not_one_is_refused_by_name() -> None:
    with pytest.raises(ApiError) as refused:
        from_http(command_operations.LIST, {}, {"page": "two"}, b"")
    assert refused.value.status == 422
    assert refused.value.detail.startswith("page: ")


def test_an_unknown_parameter_is_refused_by_name() -> None:
    with pytest.raises(ApiError) as refused:
        from_http(command_operations.LIST, {}, {"colour": "red"}, b"")
    assert refused.value.status == 422
    assert "colour" in refused.value.detail


def test_the_twin_forwards_exactly_the_huds_operations() -> None:
    assert {operation.label for operation in FORWARDED} == {
        "commands.create",
        "commands.list",
        "commands.get",
        "commands.cancel",
        "commands.retry",
        "alerts.active",
        "alerts.list",
        "alerts.ack",
        "ingest.history",
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid", 422),
        ("malformed", 400),
        ("not_found", 404),
        ("conflict", 409),
        ("unavailable", 503),
        ("forbidden", 403),
        ("locked", 429),
        ("internal", 502),
        (None, 502),
    ],
)
def test_an_error_code_keeps_its_status(code: str | None, status: int) -> None:
    reply = msgspec.json.encode({"error": "id: not a command id", "code": code})
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.GET, reply)
    assert failed.value.status == status
    assert failed.value.detail == "id: not a command id"


def test_an_unknown_code_is_a_bad_gateway() -> None:
    reply = msgspec.json.encode({"error": "odd", "code": "something-new"})
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.GET, reply)
    assert failed.value.status == 502


def test_a_result_is_decoded_as_its_declared_type() -> None:
    result = open_reply(alert_operations.ACTIVE, b'{"result": {"items": []}}')
    assert msgspec.to_builtins(result) == {"items": []}


@pytest.mark.parametrize(
    "data", [b"not json", b"[1, 2]", b'{"result": {"items": 3}}', b'{"result": null}']
)
def test_a_reply_that_is_no_reply_is_a_bad_gateway(data: bytes) -> None:
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.LIST, data)
    assert failed.value.status == 502
    assert "commands.api.list" in failed.value.detail
