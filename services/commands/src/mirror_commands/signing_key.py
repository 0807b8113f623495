"""The commands service's signing key: made once, kept in PostgreSQL, shared by replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from mirror_runtime.pg import Conn
from mirror_schema.command_signing import ALGORITHM, SigningKey, new_signing_key

__all__ = ["load_or_create"]

# ON CONFLICT DO NOTHING: replicas starting together keep the first key written.
INSERT: Final = """
INSERT INTO signing_key (id, algorithm, seed, public_key, created_at)
VALUES (1, $1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING
"""
SELECT: Final = "SELECT seed FROM signing_key WHERE id = 1"


async def load_or_create(conn: Conn, now: datetime) -> SigningKey:
    """The service's key; a fresh one is stored first if there is none yet."""
    seed = await conn.fetchval(SELECT)
    if seed is None:
        key = new_signing_key()
        await conn.execute(INSERT, ALGORITHM, key.seed, key.public_key, now)
        seed = await conn.fetchval(SELECT)
    return SigningKey(seed=seed)
