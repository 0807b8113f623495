"""Fixtures for the mirror_schema unit tests: the original agent's reference payload."""

from pathlib import Path

import pytest

# A copy of shared/reference/agent-payload.example.json, kept in the repository so that a
# clone tests the same payload wherever it lies.
REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "original-agent-payload.json"


@pytest.fixture(scope="session")
def agent_payload() -> bytes:
    """The original agent's real payload, as bytes."""
    return REFERENCE.read_bytes()
