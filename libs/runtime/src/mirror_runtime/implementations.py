"""What a service registers for each operation it serves: the declaration (mirror_schema.api)
and the async function both its doors call, ``run(request, actor) -> result``.

``actor`` is who acts as the door established it (mirror_runtime.requests_in): the logged-in
operator or the body's claim with logins off (HTTP; None when neither), the caller the subject
vouches for (NATS). The request's own actor field, when it has one, already holds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from mirror_schema.api import Operation

__all__ = ["Implementation", "implement"]

Q = TypeVar("Q", bound=msgspec.Struct)
R = TypeVar("R")


@dataclass(frozen=True)
class Implementation(Generic[Q, R]):
    """An operation and the function carrying it out."""

    operation: Operation[Q, R]
    run: Callable[[Q, str | None], Awaitable[R]]


def implement(
    operation: Operation[Q, R], run: Callable[[Q, str | None], Awaitable[R]]
) -> Implementation[Any, Any]:
    """Pair `operation` with `run`, their types checked against each other."""
    return Implementation(operation, run)
