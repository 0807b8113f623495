"""Join tokens, the joins waiting for approval, and the audit of every join, on disk.

Beside the identity registry in ``<data dir>/identities/``:

- ``join-tokens.json``: each token's id, the public key of the NATS user its holders connect
  as (the token carries that user's seed: the secret is never kept here), its limits (uses,
  expiry), tags, whether each join waits for approval, and whether it was revoked;
- ``join-pending.json``: joins waiting for an administrator, approved ones whose agent has not
  asked again yet, and the ones rejected in the last week (so a rejected agent asking again
  is refused, not queued again);
- ``join-audit.jsonl``: one JSON line per decision, appended.

Callers change these under ``identities.lock`` (mirror_stage.identity_lock), shared with
`agent enroll` and `revoke`, since the enroller and the command line both write here.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

import msgspec

from mirror_schema.joins import format_join_token
from mirror_stage.nats_identities import new_identity

__all__ = ["AuditEntry", "JoinStore", "JoinToken", "PendingJoin"]

_TOKENS: Final = "join-tokens.json"
_PENDING: Final = "join-pending.json"
_AUDIT: Final = "join-audit.jsonl"
_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
REJECTED_KEPT: Final = timedelta(days=7)


class JoinToken(msgspec.Struct, frozen=True, kw_only=True):
    """One join token (its secret, the NATS user's seed, is only in what its holders got)."""

    id: str
    public_key: str  # of the NATS user its holders connect as
    created_at: datetime
    expires_at: datetime
    max_uses: int
    used: int = 0
    tags: dict[str, str] = {}
    approval: bool = False  # each join waits for `mirror-stage agent approve`
    revoked_at: datetime | None = None

    def problem(self, now: datetime) -> str | None:
        """Why the token admits nobody now; None while it admits."""
        if self.revoked_at is not None:
            return f"join token {self.id} was revoked"
        if now >= self.expires_at:
            return f"join token {self.id} expired at {self.expires_at.isoformat()}"
        if self.used >= self.max_uses:
            return f"join token {self.id} is used up ({self.max_uses} joins)"
        return None


class PendingJoin(msgspec.Struct, frozen=True, kw_only=True):
    """A join waiting for an administrator, or one rejected."""

    host_id: str
    public_key: str
    ingest_token_sha256: str
    token_id: str
    asked_at: datetime
    # approved: enrolled by an administrator, its agent not told yet (it asks again).
    state: Literal["pending", "approved", "rejected"] = "pending"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One decision about a join."""

    at: datetime
    token_id: str
    host_id: str
    public_key: str
    outcome: str  # enrolled, accepted-again, pending, approved, rejected, refused
    detail: str = ""


class _Tokens(msgspec.Struct, kw_only=True):
    tokens: list[JoinToken] = []


class _Pending(msgspec.Struct, kw_only=True):
    joins: list[PendingJoin] = []


class JoinStore:
    """The join tokens, pending joins and audit of one identities directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def create(
        self,
        *,
        uses: int,
        lifetime: timedelta,
        tags: dict[str, str],
        approval: bool,
        now: datetime | None = None,
    ) -> tuple[str, JoinToken]:
        """A new token: the text to give to hosts (shown once), and what is kept of it."""
        now = now or datetime.now(UTC)
        token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        user = new_identity(f"join-{token_id}")
        token = JoinToken(
            id=token_id,
            public_key=user.public_key,
            created_at=now,
            expires_at=now + lifetime,
            max_uses=uses,
            tags=tags,
            approval=approval,
        )
        content = self._tokens()
        content.tokens.append(token)
        self._write(_TOKENS, content)
        return format_join_token(token_id, user.seed), token

    def tokens(self) -> list[JoinToken]:
        """Every token, revoked and expired ones included."""
        return list(self._tokens().tokens)

    def token(self, token_id: str) -> JoinToken | None:
        """The token `token_id`; None when there is none."""
        return next((t for t in self._tokens().tokens if t.id == token_id), None)

    def holders(self, now: datetime | None = None) -> Iterator[JoinToken]:
        """The tokens whose holders may be on the bus: those that admit someone now, and
        those with joins waiting or approved and not yet collected (used up or expired since,
        their agents must still hear the answer). Never a revoked one."""
        now = now or datetime.now(UTC)
        waiting = {p.token_id for p in self.pending() if p.state != "rejected"}
        return (
            t
            for t in self._tokens().tokens
            if t.revoked_at is None and (t.problem(now) is None or t.id in waiting)
        )

    def replace(self, token: JoinToken) -> None:
        """Keep `token` in place of the token with its id."""
        content = self._tokens()
        content.tokens = [token if t.id == token.id else t for t in content.tokens]
        self._write(_TOKENS, content)

    def revoke(self, token_id: str, now: datetime | None = None) -> bool:
        """Revoke `token_id`, rejecting the joins made with it that wait for approval; False
        when there is no such token."""
        token = self.token(token_id)
        if token is None:
            return False
        if token.revoked_at is None:
            self.replace(msgspec.structs.replace(token, revoked_at=now or datetime.now(UTC)))
        self.set_pending(
            [
                msgspec.structs.replace(p, state="rejected")
                if p.token_id == token_id and p.state == "pending"
                else p
                for p in self.pending()
            ]
        )
        return True

    def pending(self) -> list[PendingJoin]:
        """The joins waiting for approval, and the rejected ones."""
        path = self.directory / _PENDING
        if not path.exists():
            return []
        return list(msgspec.json.decode(path.read_bytes(), type=_Pending).joins)

    def set_pending(self, joins: list[PendingJoin], now: datetime | None = None) -> None:
        """Keep `joins` as the pending, approved and rejected joins (a rejection is kept
        REJECTED_KEPT, so the rejected agent asking again is refused, then forgotten)."""
        since = (now or datetime.now(UTC)) - REJECTED_KEPT
        kept = [p for p in joins if p.state != "rejected" or p.asked_at >= since]
        self._write(_PENDING, _Pending(joins=kept))

    def audit(self, entry: AuditEntry) -> None:
        """Append `entry` to the audit (0600, one JSON line)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / _AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as file:
            file.write(msgspec.json.encode(entry) + b"\n")

    def audit_entries(self) -> list[AuditEntry]:
        """The audit, oldest first."""
        path = self.directory / _AUDIT
        if not path.exists():
            return []
        entries = []
        for line in path.read_bytes().splitlines():
            try:
                entries.append(msgspec.json.decode(line, type=AuditEntry))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # a line torn by a crash mid-write
        return entries

    def _tokens(self) -> _Tokens:
        path = self.directory / _TOKENS
        if not path.exists():
            return _Tokens()
        return msgspec.json.decode(path.read_bytes(), type=_Tokens)

    def _write(self, name: str, content: msgspec.Struct) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / name
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(msgspec.json.format(msgspec.json.encode(content)))
        temporary.replace(path)
