"""Request validation and list queries at the commands' doors (mirror_runtime.requests_in over
the declared operations): errors name the field; LIKE and paging arithmetic."""

import re

import pytest

from mirror_commands import ids, query
from mirror_commands.config import from_env
from mirror_runtime.doors import ApiError
from mirror_runtime.environment import BadValueError
from mirror_runtime.requests_in import from_http, from_nats
from mirror_schema import command_operations
from mirror_schema.command_api import MAX_PAGE_SIZE, ListCommandsRequest
from mirror_schema.commands import COMMAND_ID_PATTERN, CommandState


def detail_of(body: bytes) -> str:
    with pytest.raises(ApiError) as caught:
        from_nats(command_operations.CREATE, body)
    assert caught.value.code == "invalid"
    return caught.value.detail


def list_request(params: dict[str, str]) -> ListCommandsRequest:
    request: ListCommandsRequest = from_http(command_operations.LIST, {}, params, b"")
    return request


def test_a_bad_field_is_named_first() -> None:
    """msgspec's path becomes the leading field name."""
    assert detail_of(b'{"command": "x", "hostname": "a", "priority": 11}').startswith(
        "priority: Expected `int` <= 10"
    )
    assert detail_of(b'{"hostname": "a"}') == ("command: Object missing required field `command`")
    assert detail_of(b'{"command": "x", "targets": "a"}').startswith("targets: Expected `array")


def test_a_request_without_a_target_says_which_fields_to_set() -> None:
    """__post_init__'s message comes through."""
    assert "set `hostname`, `targets` or `selector`" in detail_of(b'{"command": "x"}')


def test_not_json_is_malformed() -> None:
    """A syntax error is 400 (malformed), not 422; an empty body names the missing field."""
    with pytest.raises(ApiError) as caught:
        from_nats(command_operations.CREATE, b"{nope")
    assert (caught.value.status, caught.value.code) == (400, "malformed")
    assert caught.value.detail.startswith("body: not valid JSON")
    assert detail_of(b"  ") == "command: Object missing required field `command`"


def test_list_parameters_convert_and_validate() -> None:
    """Query strings become numbers and states; several states by commas; blanks ignored."""
    request = list_request(
        {"hostname": "web-01", "status": "pending, running", "page": "2", "search": ""}
    )
    assert request.status == [CommandState.PENDING, CommandState.RUNNING]
    assert (request.page, request.page_size, request.search) == (2, 50, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": str(MAX_PAGE_SIZE + 1)}, "page_size"),
        ({"status": "done"}, "status[0]"),
        ({"search": "x" * 500}, "search"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_list_parameters_name_the_field(params: dict[str, str], field: str) -> None:
    """Each bad parameter is reported by its name."""
    with pytest.raises(ApiError) as caught:
        list_request(params)
    assert caught.value.detail.startswith(f"{field}: "), caught.value.detail


def test_like_patterns_take_wildcards_literally() -> None:
    """A search for 100% matches the text 100%, not every 100-prefixed word."""
    assert query.like_pattern("100%_x\\") == "%100\\%\\_x\\\\%"


def test_paging_offsets() -> None:
    """Page 1 starts at row 0."""
    assert query.offset(1, 50) == 0
    assert query.offset(3, 20) == 40


def test_hostname_filters_find_the_derived_host_id() -> None:
    """A full hostname also matches the host id derived from it."""
    assert query.host_ids_for("web-01") == ["web-01"]
    assert query.host_ids_for("Web-01.Example.com") == ["web-01-example-com"]
    assert query.host_ids_for("...") == []


def test_ids_are_uuid7_and_valid_subject_tokens() -> None:
    """Version 7, variant 10, time-ordered, and allowed by the command-id rule."""
    first = ids.new_id(now_ms=1_700_000_000_000, random=bytes(10))
    later = ids.new_id(now_ms=1_700_000_000_001, random=b"\xff" * 10)
    assert re.fullmatch(COMMAND_ID_PATTERN, first)
    assert first[14] == "7"
    assert first[19] in "89ab"
    assert first < later
    assert ids.new_id() != ids.new_id()


def test_config_defaults_and_overrides() -> None:
    """Limits come from MIRROR_STAGE_COMMANDS_*; a bad value names its variable."""
    config = from_env({})
    assert (config.service.http_port, config.max_timeout_seconds) == (8103, 3600.0)
    assert config.expiry_seconds == 3600.0
    config = from_env({"MIRROR_STAGE_COMMANDS_MAX_TIMEOUT_SECONDS": "60"})
    assert config.max_timeout_seconds == 60
    with pytest.raises(BadValueError, match="MIRROR_STAGE_COMMANDS_SWEEP_SECONDS"):
        from_env({"MIRROR_STAGE_COMMANDS_SWEEP_SECONDS": "never"})
