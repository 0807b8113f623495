"""Constrained field types shared by every message (timestamps, percents, counters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

__all__ = [
    "AwareDatetime",
    "Bytes",
    "Count",
    "NonNegativeFloat",
    "Percent",
]

# tz=True: a naive timestamp is ambiguous across hosts in different zones, so it is rejected.
AwareDatetime = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="ISO 8601 timestamp with a zone (e.g. Z or +02:00)"),
]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100, description="percentage, 0-100")]
# Bounded by PostgreSQL's BIGINT, where the history stores them.
INT64_MAX = 2**63 - 1
Bytes = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX, description="a byte count, >= 0")]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX, description="a counter, >= 0")]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
