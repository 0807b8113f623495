"""Garbage-collector settings for services that hold every host's latest sample in memory.

With the defaults, Python's collector walks the whole growing heap (ten thousand hosts'
samples) again and again: a third of the twin's CPU went to it. Once the long-lived state is
loaded, it is moved out of the collector's sight and young objects are collected less often.
"""

import gc
from typing import Final

__all__ = ["GC_THRESHOLDS", "settle_heap"]

# Allocations before a young collection, and young collections before an older one.
GC_THRESHOLDS: Final = (50_000, 20, 20)


def settle_heap() -> None:
    """Collect once, freeze what survives (imports, restored state), and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
