"""Fixtures of the e2e tests."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror_stage.postgres import postgres_account, postgres_root
from mirror_stage.shared_clusters import owner_path


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The stack's data dir; PostgreSQL's files kept elsewhere (as root) are removed after."""
    data = tmp_path / "stage"
    yield data
    root = postgres_root(data, postgres_account()) if data.exists() else data
    if not root.is_relative_to(tmp_path):
        shutil.rmtree(root, ignore_errors=True)
        owner_path(root).unlink(missing_ok=True)
