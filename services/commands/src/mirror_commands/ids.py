"""Command and batch ids: UUIDv7 layout (time-ordered), valid as NATS subject tokens."""

import os
import time
import uuid


def new_id(now_ms: int | None = None, random: bytes | None = None) -> str:
    """A UUIDv7 string: 48 bits of Unix milliseconds, version 7, variant 10, 74 random bits.

    Time-ordered ids keep the primary key's index appending; they sort as they were made.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10) if random is None else random, "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))
