"""Host ids: the bus-safe name of a host, its validation and its derivation from a hostname."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Final

import msgspec

from mirror_schema.errors import InvalidHostId

__all__ = [
    "HOST_ID_MAX_LENGTH",
    "HOST_ID_PATTERN",
    "HostId",
    "InvalidHostId",
    "host_id_from_hostname",
    "is_valid_host_id",
    "validate_host_id",
]

HOST_ID_MAX_LENGTH: Final = 63
# `(?!\n)$` instead of a bare `$`: Python's `$` also matches before a trailing newline, which
# would let "web-01\n" through; the lookahead form means the same in Python and JavaScript.
HOST_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}(?!\n)$"
_HOST_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")

HostId = Annotated[
    str,
    msgspec.Meta(
        pattern=HOST_ID_PATTERN,
        description="host id: lowercase [a-z0-9][a-z0-9_-]{0,62}",
    ),
]

_ALLOWED: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_UPPER: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def is_valid_host_id(value: object) -> bool:
    """Return whether ``value`` is a string that follows the host-id rule."""
    return isinstance(value, str) and _HOST_ID_RE.fullmatch(value) is not None


def validate_host_id(value: str) -> str:
    """Return ``value`` unchanged if it is a valid host id, else raise :class:`InvalidHostId`."""
    if not is_valid_host_id(value):
        raise InvalidHostId(value, HOST_ID_PATTERN)
    return value


def host_id_from_hostname(hostname: str) -> str:
    """Derive the host id of ``hostname``; the same hostname always gives the same id.

    Rules, applied in order:

    1. ASCII ``A-Z`` become lowercase; ``a-z``, ``0-9``, ``_`` and ``-`` are kept; every other
       character (dots, spaces, any non-ASCII character, accented letters too) becomes ``-``.
       Runs of ``-`` are *not* collapsed, so punycode names keep their ``xn--``.
    2. Leading ``-``/``_`` are stripped (an id starts with a letter or digit).
    3. The result is cut to 63 characters, then trailing ``-`` are stripped.
    4. If nothing is left and the hostname had a non-ASCII character (e.g. ``"服务器"``), the id is
       ``h-`` followed by the first 8 hex digits of the SHA-1 of the UTF-8 hostname.
    5. If nothing is left otherwise (``""``, ``"---"``, ``"..."``) a ``ValueError`` is raised.

    Examples: ``"Web-01.Example.COM"`` -> ``"web-01-example-com"``, ``"Café-Server"`` ->
    ``"caf--server"``. Distinct hostnames can map to one id; set ``host_id`` in the agent's
    config when that matters.
    """
    chars: list[str] = []
    for char in hostname:
        if char in _ALLOWED:
            chars.append(char)
        elif char in _UPPER:
            chars.append(char.lower())
        else:
            chars.append("-")
    derived = "".join(chars).lstrip("-_")[:HOST_ID_MAX_LENGTH].rstrip("-")
    if not derived:
        if hostname.isascii():
            raise ValueError(
                f"cannot derive a host id from hostname {hostname!r}: it has no ASCII letter or "
                "digit; set host_id explicitly in the agent's config"
            )
        digest = hashlib.sha1(hostname.encode("utf-8"), usedforsecurity=False).hexdigest()
        derived = f"h-{digest[:8]}"
    return validate_host_id(derived)
