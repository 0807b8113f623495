"""field_error(): every API error names the field of the request that is wrong."""

from typing import Annotated

import msgspec
import pytest

from mirror_schema.field_errors import field_error


class Item(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class Request(msgspec.Struct, forbid_unknown_fields=True):
    priority: Annotated[int, msgspec.Meta(le=10)] = 1
    items: list[Item] = []


decode_request = msgspec.json.Decoder(Request).decode


def error_of(body: bytes) -> msgspec.ValidationError | msgspec.DecodeError:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)) as raised:
        decode_request(body)
    return raised.value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"priority": 11}', "priority: Expected `int` <= 10"),
        (b'{"priority": "high"}', "priority: Expected `int`, got `str`"),
        (b'{"items": [{"name": 1}]}', "items[0].name: Expected `str`, got `int`"),
    ],
)
def test_the_path_msgspec_gives_becomes_the_field(body: bytes, expected: str) -> None:
    """`... - at `$.priority`` becomes `priority: ...`, nested paths kept as they are."""
    assert field_error(error_of(body)) == expected


def test_a_missing_field_is_named_under_its_parent() -> None:
    """msgspec puts a missing field in its message, not its path: it is moved to the front."""
    assert field_error(error_of(b'{"items": [{}]}')) == (
        "items[0].name: Object missing required field `name`"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"bogus": 1}', "bogus: Object contains unknown field `bogus`"),
        (b'{"items": [{"name": "a", "x": 1}]}', "items[0].x: Object contains unknown field `x`"),
    ],
)
def test_an_unknown_field_is_named(body: bytes, expected: str) -> None:
    """A typo in a field's name is named, at the top or deep inside."""
    assert field_error(error_of(body)) == expected


def test_an_error_about_the_whole_document_names_the_body() -> None:
    """No field to name: `body`, or what the caller calls it (`query`)."""
    assert field_error(error_of(b"[]")) == "body: Expected `object`, got `array`"
    assert field_error(error_of(b"[]"), body="query") == "query: Expected `object`, got `array`"


def test_malformed_json_names_the_body() -> None:
    """A DecodeError (not JSON at all) is said of the whole body."""
    assert field_error(error_of(b"{")) == "body: Input data was truncated"
