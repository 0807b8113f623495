"""Constrained field types shared by every message (timestamps, percents, counters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

__all__ = [
    "CELSIUS_MAX",
    "CELSIUS_MIN",
    "AwareDatetime",
    "Bytes",
    "Celsius",
    "Coordinate",
    "Count",
    "CpuPercent",
    "LoadAverage",
    "Megabits",
    "Megahertz",
    "NonNegativeFloat",
    "Percent",
    "Seconds",
    "Watts",
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

# Physical bounds of a sample's readings: every one finite (JSON cannot say inf, but msgspec's
# convert can be handed one) and within what a real machine reports, so that a hostile or
# broken agent cannot stall the history's rollups (1e200 load) or overflow a timedelta.
LoadAverage = Annotated[
    float, msgspec.Meta(ge=0, le=1e6, description="a load average, 0 to 1,000,000")
]
Seconds = Annotated[
    float, msgspec.Meta(ge=0, le=1e10, description="seconds, 0 to 10^10 (about 300 years)")
]
CELSIUS_MIN = -273.15
CELSIUS_MAX = 1000.0
Celsius = Annotated[
    float,
    msgspec.Meta(ge=CELSIUS_MIN, le=CELSIUS_MAX, description="degrees Celsius, -273.15 to 1,000"),
]
Megahertz = Annotated[float, msgspec.Meta(ge=0, le=1e6, description="MHz, 0 to 1,000,000")]
Megabits = Annotated[
    float, msgspec.Meta(ge=0, le=1e8, description="a link speed in Mbit/s, 0 to 10^8")
]
Watts = Annotated[float, msgspec.Meta(ge=0, le=1e6, description="watts, 0 to 1,000,000")]
# A process on many cores reports more than 100 (psutil): up to 10,000 cores' worth.
CpuPercent = Annotated[
    float, msgspec.Meta(ge=0, le=1e6, description="percent of one core, 0 to 1,000,000")
]
Coordinate = Annotated[
    float, msgspec.Meta(ge=-1e6, le=1e6, description="a coordinate, -10^6 to 10^6")
]
