"""Fixtures of the e2e tests."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from fault_stage import Faulty, fault_stack
from stack_up import bus_violations

from shared_databases import remove_shared_database


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The stack's data dir; PostgreSQL's files kept elsewhere (as root) are removed after."""
    data = tmp_path / "stage"
    yield data
    remove_shared_database(data, tmp_path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fault_stage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Faulty]:
    """One stack for a module of faults (fault_stage.py); its tests run in the module's loop."""
    async with fault_stack(tmp_path_factory.mktemp("faults")) as stage:
        yield stage
    assert bus_violations(stage.data_dir) == []


@pytest_asyncio.fixture(loop_scope="module")
async def faulty(fault_stage: Faulty) -> AsyncIterator[Faulty]:
    """The module's stack, whole again before each fault; no part broke the bus's rules
    after it."""
    await fault_stage.all_healthy()
    yield fault_stage
    assert bus_violations(fault_stage.data_dir) == []
