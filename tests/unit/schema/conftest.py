"""Fixtures for the mirror_schema unit tests: the original agent's reference payload."""

from __future__ import annotations

from pathlib import Path

import pytest

_REFERENCE = Path("shared/reference/agent-payload.example.json")


def _find_reference() -> Path:
    here = Path(__file__).resolve()
    for directory in here.parents:
        candidate = directory / _REFERENCE
        if candidate.is_file():
            return candidate
    pytest.fail(
        f"cannot find {_REFERENCE} in any parent of {here}; the schema tests check that the "
        "original agent's payload still decodes, so that file must be present",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def agent_payload() -> bytes:
    """The original agent's real payload, as bytes."""
    return _find_reference().read_bytes()
