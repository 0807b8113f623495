"""field_error(): msgspec's validation message as ``<field>: <problem>``, the form every API
error takes, so that a caller sees which field of its request is wrong."""

from __future__ import annotations

import re
from typing import Final

import msgspec

__all__ = ["field_error"]

# msgspec's error text ends with " - at `$.priority`" when it knows where.
_AT_PATH: Final = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_MISSING_FIELD: Final = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN_FIELD: Final = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`")


def field_error(exc: msgspec.ValidationError | msgspec.DecodeError, body: str = "body") -> str:
    """``Expected `int` <= 10 - at `$.priority``` becomes ``priority: Expected `int` <= 10``;
    an error about the whole document is given as ``<body>: ...``."""
    text = str(exc)
    path = ""
    match = _AT_PATH.match(text)
    if match is not None:
        text, path = match["message"], match["path"].lstrip(".")
    for pattern in (_MISSING_FIELD, _UNKNOWN_FIELD):
        named = pattern.match(text)
        if named is not None:
            path = f"{path}.{named['field']}" if path else named["field"]
    return f"{path or body}: {text}"
