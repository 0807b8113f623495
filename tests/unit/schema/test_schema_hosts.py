"""Host ids: validation and derivation from hostnames."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror_schema import HOST_ID_PATTERN, HostId, InvalidHostId
from mirror_schema.hosts import host_id_from_hostname, is_valid_host_id, validate_host_id

_STRICT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("web-01", "web-01"),
        ("Web-01.Example.COM", "web-01-example-com"),
        ("GPU_NODE_7", "gpu_node_7"),
        ("my laptop", "my-laptop"),
        ("Café-Server", "caf--server"),
        ("xn--caf-dma.example", "xn--caf-dma-example"),
        ("example.com.", "example-com"),
        ("--lead.trail--", "lead-trail"),
        ("_svc", "svc"),
    ],
)
def test_hostname_maps_to_expected_host_id(hostname: str, expected: str) -> None:
    """Uppercase ASCII is lowered, other characters become '-', ends are trimmed."""
    assert host_id_from_hostname(hostname) == expected


def test_long_hostname_is_truncated_to_63_valid_characters() -> None:
    """A 300-character hostname gives a valid id of at most 63 characters."""
    host_id = host_id_from_hostname("a" * 150 + "." + "B" * 149)
    assert host_id == "a" * 63
    assert _STRICT.fullmatch(host_id)


def test_truncation_does_not_leave_a_trailing_dash() -> None:
    """Cutting at 63 characters never leaves the id ending in '-'."""
    host_id = host_id_from_hostname("x" * 62 + ".rest")
    assert host_id == "x" * 62


def test_hostname_with_nothing_ascii_falls_back_to_a_stable_hash() -> None:
    """A hostname with no usable ASCII gets 'h-' and 8 hex digits, the same every time."""
    first = host_id_from_hostname("服务器")
    assert re.fullmatch(r"h-[0-9a-f]{8}", first)
    assert host_id_from_hostname("服务器") == first
    assert host_id_from_hostname("数据库") != first


@pytest.mark.parametrize("hostname", ["", "---", "...", "   ", "_-_"])
def test_ascii_hostname_without_letters_or_digits_is_rejected(hostname: str) -> None:
    """An ASCII hostname with no letter or digit raises a ValueError naming the hostname."""
    with pytest.raises(ValueError, match="cannot derive a host id from hostname") as info:
        host_id_from_hostname(hostname)
    assert repr(hostname) in str(info.value)


# Letters whose lower() is odd (e-acute, sharp s, dotted/dotless i, Kelvin, Omega), CJK,
# combining marks, zero-width space, emoji, and the characters NATS gives meaning to.
AWKWARD = st.text(
    alphabet=st.sampled_from(
        [
            *"abcXYZ019_-. \t\n*>/:@\u00e9\u00c9\u00df\u0130\u0131\u212a\u03a9",
            *("服", "务", "器", "デ", "\u200b", "\u0301", "\U0001f600"),
        ]
    ),
    max_size=320,
)


@settings(max_examples=1000)
@given(text=st.one_of(AWKWARD, st.text(max_size=320)))
def test_every_derived_host_id_is_valid(text: str) -> None:
    """Property: for any text, a derived id matches the host-id rule (or a ValueError is raised)."""
    try:
        host_id = host_id_from_hostname(text)
    except ValueError:
        assert text.isascii(), f"non-ASCII hostname {text!r} must derive an id"
        return
    assert _STRICT.fullmatch(host_id), (text, host_id)
    assert msgspec.convert(host_id, HostId) == host_id
    assert host_id_from_hostname(text) == host_id


def test_derivation_is_idempotent_on_valid_ids() -> None:
    """A valid host id derives to itself."""
    for host_id in ["a", "web-01", "gpu_node-7", "0" * 63]:
        assert host_id_from_hostname(host_id) == host_id


@pytest.mark.parametrize("value", ["", "UPPER", "a.b", "*", ">", "-lead", "a b", "x" * 64, "h\n"])
def test_validate_host_id_rejects_with_value_and_rule(value: str) -> None:
    """A bad host id raises InvalidHostId whose message shows the value and the rule."""
    with pytest.raises(InvalidHostId) as info:
        validate_host_id(value)
    message = str(info.value)
    assert repr(value) in message
    assert HOST_ID_PATTERN in message
    assert info.value.value == value
    assert isinstance(info.value, ValueError)


def test_host_id_type_rejects_a_trailing_newline() -> None:
    """The msgspec HostId pattern does not let 'web-01\\n' through (Python's `$` would)."""
    with pytest.raises(msgspec.ValidationError, match="matching regex"):
        msgspec.json.decode(b'"web-01\\n"', type=HostId)
    assert not is_valid_host_id("web-01\n")
    assert not is_valid_host_id(42)
