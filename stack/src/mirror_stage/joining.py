"""Carrying out joins: a request decided and recorded, an administrator's approval or
rejection. Each runs under the identities lock; the caller tells nats-server afterwards
(`publish_users`) when the users changed."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from mirror_schema.joins import JoinReply, JoinRequest, JoinStatus
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import IdentityStore
from mirror_stage.join_decisions import Decision, decide
from mirror_stage.join_tokens import AuditEntry, JoinStore, PendingJoin
from mirror_stage.stack_layout import StackLayout

__all__ = ["approve", "handle_join", "reject"]


def handle_join(
    layout: StackLayout,
    token_id: str,
    request: JoinRequest,
    signing_public_key: str | None,
    now: datetime | None = None,
) -> tuple[JoinReply, bool]:
    """Decide on `request` (made with join token `token_id`) and record it; the reply, and
    whether nats-server's users changed (a new agent; a token used up)."""
    now = now or datetime.now(UTC)
    with identity_lock(layout.identities_dir):
        store = IdentityStore(layout.identities_dir)
        joins = JoinStore(layout.identities_dir)
        token = joins.token(token_id)
        pending = joins.pending()
        decision = decide(request, token, store.agent_key(request.host_id), pending, now)
        host = request.host_id
        owner = store.ingest_token_host(request.ingest_token_sha256)
        if decision.outcome in ("enroll", "pend") and owner is not None:
            decision = Decision("refused", "ingest_token_sha256: another host's token has it")
        if decision.outcome == "enroll" and token is not None:
            # The use first: a crash after it costs the token a use, never gives one back.
            joins.replace(msgspec.structs.replace(token, used=token.used + 1))
            store.add_joined_agent(host, request.public_key, request.ingest_token_sha256)
        if decision.outcome == "accepted-again":
            # An approved join collected: its agent has its answer now.
            joins.set_pending(
                [p for p in pending if not (p.host_id == host and p.state == "approved")]
            )
        if decision.outcome == "pend" and token is not None:
            joins.set_pending(
                [
                    *pending,
                    PendingJoin(
                        host_id=host,
                        public_key=request.public_key,
                        ingest_token_sha256=request.ingest_token_sha256,
                        token_id=token_id,
                        asked_at=now,
                    ),
                ]
            )
        if token is not None and decision.outcome != "still-pending":
            joins.audit(
                AuditEntry(
                    at=now,
                    token_id=token_id,
                    host_id=host,
                    public_key=request.public_key,
                    outcome=decision.outcome,
                    detail=decision.detail,
                )
            )
    if decision.outcome in ("enroll", "accepted-again"):
        reply = JoinReply(
            status="accepted",
            detail=decision.detail,
            host_id=host,
            signing_public_key=signing_public_key,
            tags=dict(token.tags) if token is not None else {},
        )
        return reply, decision.outcome == "enroll"
    status: JoinStatus = "refused" if decision.outcome == "refused" else "pending"
    return JoinReply(status=status, detail=decision.detail, host_id=host), False


def approve(layout: StackLayout, host_id: str, now: datetime | None = None) -> str | None:
    """Enroll the pending join of `host_id`; None when done, else why not."""
    now = now or datetime.now(UTC)
    with identity_lock(layout.identities_dir):
        store = IdentityStore(layout.identities_dir)
        joins = JoinStore(layout.identities_dir)
        pending = joins.pending()
        join = next((p for p in pending if p.host_id == host_id and p.state == "pending"), None)
        if join is None:
            return f"no join of {host_id!r} waits for approval (`mirror-stage agent pending`)"
        if store.agent_key(host_id) is not None:
            return f"{host_id} is enrolled already; reject this join"
        token = joins.token(join.token_id)
        if token is None or token.revoked_at is not None:
            return f"join token {join.token_id} was revoked: reject this join"
        joins.replace(msgspec.structs.replace(token, used=token.used + 1))
        store.add_joined_agent(host_id, join.public_key, join.ingest_token_sha256)
        # Kept as approved until its agent asks again: its token's holders stay on the bus
        # until then, even if this was the token's last use.
        approved = msgspec.structs.replace(join, state="approved")
        joins.set_pending([approved if p is join else p for p in pending])
        joins.audit(_decided(join, "approved", now))
    return None


def reject(layout: StackLayout, host_id: str, now: datetime | None = None) -> str | None:
    """Reject the pending join of `host_id` (asking again is refused); None when done."""
    now = now or datetime.now(UTC)
    with identity_lock(layout.identities_dir):
        joins = JoinStore(layout.identities_dir)
        pending = joins.pending()
        join = next((p for p in pending if p.host_id == host_id and p.state == "pending"), None)
        if join is None:
            return f"no join of {host_id!r} waits for approval (`mirror-stage agent pending`)"
        rejected = msgspec.structs.replace(join, state="rejected")
        joins.set_pending([rejected if p is join else p for p in pending])
        joins.audit(_decided(join, "rejected", now))
    return None


def _decided(join: PendingJoin, outcome: str, now: datetime) -> AuditEntry:
    return AuditEntry(
        at=now,
        token_id=join.token_id,
        host_id=join.host_id,
        public_key=join.public_key,
        outcome=outcome,
        detail="by an administrator",
    )
