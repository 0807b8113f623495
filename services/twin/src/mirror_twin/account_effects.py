"""What the twin does itself once it has forwarded an admin's change of a user or token: the
user's or token's access here ends at once (mirror_runtime.auth.revocation), instead of when
its cached check runs out or its sockets are next checked."""

from collections.abc import Callable
from typing import Any, Final

import msgspec
from fastapi import FastAPI

from mirror_runtime.auth.revocation import Revocation, revocation_of
from mirror_runtime.implementations import Implementation
from mirror_schema import account_operations as ops

__all__ = ["with_account_effects"]

# By operation label: what follows its success, given the user's or token's name.
_EFFECTS: Final[dict[str, Callable[[Revocation, str], None]]] = {
    ops.USERS_REMOVE.label: Revocation.user_ended,
    ops.USERS_PASSWORD.label: Revocation.user_ended,
    ops.USERS_ROLE.label: Revocation.role_changed,
    ops.TOKENS_REVOKE.label: Revocation.token_revoked,
}


def with_account_effects(
    app: FastAPI, implementation: Implementation[Any, Any]
) -> Implementation[Any, Any]:
    """`implementation`, followed by its operation's effect on `app`'s logins when it has one."""
    effect = _EFFECTS.get(implementation.operation.label)
    if effect is None:
        return implementation
    forwarded = implementation.run

    async def run(request: msgspec.Struct, actor: str | None) -> Any:
        result = await forwarded(request, actor)
        revocation = revocation_of(app.state)  # None: logins are off
        if revocation is not None:
            effect(revocation, getattr(request, "name"))  # noqa: B009 - every one names it
        return result

    return Implementation(implementation.operation, run)
