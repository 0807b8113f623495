"""Fixtures of the e2e tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared_databases import remove_shared_database


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The stack's data dir; PostgreSQL's files kept elsewhere (as root) are removed after."""
    data = tmp_path / "stage"
    yield data
    remove_shared_database(data, tmp_path)
