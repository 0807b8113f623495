"""Codec helpers: message ids and the package importing with msgspec alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mirror_schema import InvalidHostId, sample_msg_id


def test_sample_msg_id_is_host_boot_seq() -> None:
    """A sample's Nats-Msg-Id is `<host>:<boot id>:<seq>`."""
    assert sample_msg_id("web-01", "b00t", 42) == "web-01:b00t:42"


@pytest.mark.parametrize(
    ("host_id", "boot_id", "seq", "error"),
    [
        ("Web.01", "b", 1, InvalidHostId),
        ("web-01", "", 1, ValueError),
        ("web-01", "b", -1, ValueError),
    ],
)
def test_sample_msg_id_rejects_bad_parts(
    host_id: str, boot_id: str, seq: int, error: type[Exception]
) -> None:
    """A bad host id, empty boot id or negative seq cannot make a message id."""
    with pytest.raises(error):
        sample_msg_id(host_id, boot_id, seq)


def test_package_imports_without_nats() -> None:
    """Importing mirror_schema does not import nats: agents need msgspec alone."""
    code = "import sys, mirror_schema; sys.exit(1 if 'nats' in sys.modules else 0)"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
