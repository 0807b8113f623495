"""Revocation: what an admin's change of a user or token ends on this process at once.

The database ends a removed user's sessions (and a reset password's) for every service; a
service without it remembers a checked credential a few seconds (mirror_runtime.auth.remote)
and rechecks live sockets on a timer (mirror_runtime.auth.sockets). The service through which
the admin made the change (the twin) need not wait for either: it forgets the credentials and
closes the sockets now. Elsewhere the change takes those few seconds, as one made with
`mirror-stage user|token` does.
"""

from starlette.datastructures import State

from mirror_runtime.auth.accounts import Authority
from mirror_runtime.auth.sockets import LiveSockets

__all__ = ["Revocation", "revocation_of"]

REMOVED = "the user was removed or their password reset by an admin: log in again"
REVOKED = "the API token was revoked by an admin"


class Revocation:
    """Ends a user's or token's access on this process."""

    def __init__(self, authority: Authority, sockets: LiveSockets) -> None:
        self.authority = authority
        self.sockets = sockets

    def user_ended(self, name: str) -> None:
        """The user was removed, or their password reset: every session of theirs ended."""
        self.authority.forget("user", name)
        self.sockets.close_principal("user", name, REMOVED)

    def role_changed(self, name: str) -> None:
        """The user's role changed: their next request carries the new one."""
        self.authority.forget("user", name)

    def token_revoked(self, name: str) -> None:
        """The API token was removed."""
        self.authority.forget("token", name)
        self.sockets.close_principal("token", name, REVOKED)


def revocation_of(state: State) -> Revocation | None:
    """The app's Revocation (mirror_runtime.auth.wiring.protect sets it); None: logins off."""
    found = getattr(state, "revocation", None)
    return found if isinstance(found, Revocation) else None
