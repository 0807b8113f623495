"""settle_heap(): once the long-lived state is loaded, the collector stops walking it."""

import gc
from collections.abc import Iterator

import pytest

from mirror_runtime.heap import GC_THRESHOLDS, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """The collector as it was before the test: settle_heap changes the whole process."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_what_survives_is_frozen_and_young_collections_come_less_often() -> None:
    """The surviving objects move to the permanent generation; the thresholds are raised."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    state = {f"host-{n}": [n] for n in range(1000)}  # containers: objects the collector tracks
    assert gc.is_tracked(state)
    settle_heap()
    assert gc.get_freeze_count() >= len(state)
    assert not any(seen is state for seen in gc.get_objects())  # out of every generation
    assert gc.get_threshold() == GC_THRESHOLDS
