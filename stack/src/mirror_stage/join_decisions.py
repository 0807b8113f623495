"""What to do with a join request: enroll, queue it for approval, or refuse, and why.

Pure: the caller reads the token, the host's enrolled key and the pending joins under the
identities lock, and carries the decision out (mirror_stage.joining).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from mirror_schema.joins import JoinRequest
from mirror_stage.join_tokens import JoinToken, PendingJoin

__all__ = ["Decision", "decide"]

Outcome = Literal["enroll", "accepted-again", "pend", "still-pending", "refused"]


class Decision(msgspec.Struct, frozen=True):
    outcome: Outcome
    detail: str


def decide(
    request: JoinRequest,
    token: JoinToken | None,
    enrolled_key: str | None,
    pending: Sequence[PendingJoin],
    now: datetime,
) -> Decision:
    """The decision on `request`, made with join token `token`, for a host enrolled with
    `enrolled_key` (None: not enrolled), with the joins now `pending`."""
    host = request.host_id
    if token is None:
        return Decision("refused", "unknown join token")
    if enrolled_key is not None:
        if enrolled_key == request.public_key:
            # The same agent asking again (its answer was lost): nothing changes.
            return Decision("accepted-again", f"{host} is enrolled with this key")
        return Decision(
            "refused",
            f"{host} is enrolled already: a join cannot take over an enrolled host "
            f"(an administrator may `mirror-stage agent revoke {host}` first)",
        )
    for join in (p for p in pending if p.host_id == host):
        if join.public_key == request.public_key and join.state == "rejected":
            return Decision("refused", f"the join of {host} was rejected by an administrator")
        if join.public_key == request.public_key:
            return Decision("still-pending", f"the join of {host} waits for an administrator")
        if join.state == "pending":
            # A rejected join from another key blocks nothing: only its own key is refused.
            return Decision("refused", f"a join for {host} from another key is pending already")
    problem = token.problem(now)
    if problem is not None:
        return Decision("refused", problem)
    waiting = sum(1 for p in pending if p.token_id == token.id and p.state == "pending")
    if token.used + waiting >= token.max_uses:
        return Decision(
            "refused", f"join token {token.id} is used up ({token.max_uses} joins, some waiting)"
        )
    if token.approval:
        return Decision("pend", f"the join of {host} waits for an administrator")
    return Decision("enroll", f"{host} enrolled")
