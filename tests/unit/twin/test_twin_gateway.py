"""The twin's gateway: the HUD's query strings become request bodies, and the owning
services' replies become the statuses their own HTTP APIs would answer."""

import msgspec
import pytest

from mirror_twin.gateway import GatewayError, unwrap
from mirror_twin.gateway_routes import query_body

ALLOWED = frozenset({"hostname", "status", "page", "page_size", "search"})


def test_a_query_becomes_a_body_with_lists_and_numbers() -> None:
    body = query_body(
        {"hostname": "web-01", "status": "failed, timed_out,", "page": "2", "search": ""},
        ALLOWED,
    )
    assert body == {"hostname": "web-01", "status": ["failed", "timed_out"], "page": 2}


def test_a_number_that_is_not_one_is_left_for_the_service_to_name() -> None:
    assert query_body({"page": "two"}, ALLOWED) == {"page": "two"}


def test_an_unknown_parameter_is_refused_by_name() -> None:
    with pytest.raises(GatewayError) as refused:
        query_body({"colour": "red"}, ALLOWED)
    assert refused.value.status == 422
    assert "'colour'" in refused.value.detail
    assert "hostname" in refused.value.detail  # and what is known


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid", 422),
        ("not_found", 404),
        ("conflict", 409),
        ("unavailable", 503),
        ("forbidden", 403),
        ("locked", 429),
        ("internal", 502),
        (None, 422),
        ("something-new", 422),
    ],
)
def test_an_error_code_keeps_its_status(code: str | None, status: int) -> None:
    reply = msgspec.json.encode({"error": "id: not a command id", "code": code})
    with pytest.raises(GatewayError) as failed:
        unwrap("commands.api.get", reply)
    assert failed.value.status == status
    assert failed.value.detail == "id: not a command id"


def test_a_result_is_passed_on_whole() -> None:
    assert unwrap("alerts.api.active", b'{"items": [{"alert_id": "a"}]}') == {
        "items": [{"alert_id": "a"}]
    }


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]"])
def test_a_reply_that_is_no_json_object_is_a_bad_gateway(data: bytes) -> None:
    with pytest.raises(GatewayError) as failed:
        unwrap("commands.api.list", data)
    assert failed.value.status == 502
    assert "commands.api.list" in failed.value.detail
