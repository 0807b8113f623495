"""BoundedReads: each reading of the host in a worker thread, within a deadline.

A reading that blocks (a hung NFS or FUSE mount makes statvfs wait forever, and nothing
ends that syscall) costs that one reading, not the agent: it is abandoned at the deadline
and its field left empty. Until it returns, that reading is not started again, so a mount
that stays hung holds one thread, not one more per sample; a worker it holds is replaced,
so the other readings go on. Workers are daemon threads: one stuck in the kernel cannot
keep the agent from exiting (a ThreadPoolExecutor's would, joined at exit).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Final, Generic, TypeVar

__all__ = ["READING_TIMEOUT_SECONDS", "BoundedReads"]

log = logging.getLogger(__name__)

T = TypeVar("T")

READING_TIMEOUT_SECONDS: Final = 2.0
WORKERS: Final = 2  # threads taking readings, besides any held by a hung one


class _Reading(Generic[T]):
    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            self.error = exc
        finally:
            self.done.set()


class BoundedReads:
    """Runs ``read(kind, fn, default)`` calls in worker threads, each within ``timeout``."""

    def __init__(self, timeout: float = READING_TIMEOUT_SECONDS, *, name: str = "reading") -> None:
        self.timeout = timeout
        self.name = name
        self._queue: queue.SimpleQueue[_Reading[object]] = queue.SimpleQueue()
        self._hung: dict[str, _Reading[object]] = {}
        self._lock = threading.Lock()
        self._threads = 0
        for _ in range(WORKERS):
            self._spawn()

    def read(self, kind: str, fn: Callable[[], T], default: T) -> T:
        """``fn()``, or ``default`` when it overran the deadline now or is still running
        from a call that did. An exception of ``fn`` reaches the caller."""
        with self._lock:
            held = self._hung.get(kind)
            if held is not None:
                if not held.done.is_set():
                    return default
                del self._hung[kind]
                log.warning("reading.recovered kind=%s (read again from now on)", kind)
        reading = _Reading(fn)
        self._queue.put(reading)  # type: ignore[arg-type]
        if not reading.done.wait(self.timeout):
            with self._lock:
                self._hung[kind] = reading  # type: ignore[assignment]
            self._spawn()  # in place of the worker it may hold
            log.warning(
                "reading.hung kind=%s (no answer in %.1f s; left empty until it answers)",
                kind,
                self.timeout,
            )
            return default
        if reading.error is not None:
            raise reading.error
        return reading.value  # type: ignore[return-value]

    def hung(self) -> list[str]:
        """The readings abandoned and not yet returned."""
        with self._lock:
            return sorted(kind for kind, held in self._hung.items() if not held.done.is_set())

    def threads(self) -> int:
        """Worker threads started so far (a hung reading's stays with it)."""
        return self._threads

    def _spawn(self) -> None:
        self._threads += 1
        threading.Thread(
            target=self._work, name=f"mirror-{self.name}-{self._threads}", daemon=True
        ).start()

    def _work(self) -> None:
        while True:
            self._queue.get().run()
