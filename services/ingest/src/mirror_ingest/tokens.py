"""Per-agent bearer tokens for the batch route (POST /api/metrics/batch): a token posts samples
for its own host only.

The tokens file (``MIRROR_STAGE_INGEST_TOKENS_FILE``, written by ``mirror-stage agent
enroll``) holds each token's SHA-256 with its host, never the token itself. It is read again
when it changes (checked at most once a second), so an enrolment or a revocation takes effect
without restarting the ingest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec
import structlog

__all__ = ["TokenEntry", "TokenTable", "TokensFile", "token_digest"]

log = structlog.get_logger()

RECHECK_SECONDS: Final = 1.0


class TokenEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One token: the host it posts for, and the hex SHA-256 of the token."""

    host_id: str
    sha256: str


class TokensFile(msgspec.Struct, kw_only=True):
    """The file's content."""

    tokens: list[TokenEntry] = []


def token_digest(token: str) -> str:
    """The hex SHA-256 the file keeps of `token` (tokens are long random strings)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenTable:
    """Which host a bearer token may post for, from the tokens file."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._hosts: dict[str, str] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._load()

    def host_for(self, token: str) -> str | None:
        """The host `token` posts for; None for a token not (or no longer) in the file."""
        now = self.clock()
        if now - self._checked_at >= RECHECK_SECONDS:
            self._checked_at = now
            self._load()
        return self._hosts.get(token_digest(token))

    def _load(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._hosts, self._stamp = {}, None  # no file: no token is valid
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            content = msgspec.json.decode(self.path.read_bytes(), type=TokensFile)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Keep what was known: a half-written or broken file must not open the door.
            log.error("ingest.tokens_unreadable", path=str(self.path), error=str(exc))
            return
        self._hosts = {entry.sha256: entry.host_id for entry in content.tokens}
        self._stamp = stamp
        log.info("ingest.tokens_loaded", tokens=len(self._hosts))
