"""Operators' logins and API tokens: the messages of ``auth.api.*``.

Every service holding the database answers them (queue group ``auth``), so that a service
without it (the twin) can log operators in and check their sessions over the bus. The
operations are declared in mirror_schema.auth_operations; replies are the envelope of every
API (mirror_schema.api.Reply): ``{"result": ...}``, or ``error`` (for people) and ``code`` (for
programs): ``unauthorized`` (wrong credentials, or a session that ended), ``locked`` (too many
failed logins, with ``retry_after_seconds``), ``invalid``, ``unavailable``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

__all__ = [
    "ROLES",
    "USER_NAME_PATTERN",
    "AuthenticateRequest",
    "AuthenticateResult",
    "Done",
    "LoginRequest",
    "LoginResult",
    "LogoutRequest",
    "PasswordRequest",
    "Principal",
    "Role",
    "role_allows",
    "valid_user_name",
]

# viewer: reads. operator: also sends commands, acknowledges alerts, edits rules and
# placements. admin: also manages users and tokens.
Role = Literal["viewer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "admin")

USER_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_.@-]{0,63}$"
_USER_NAME: Final = re.compile(USER_NAME_PATTERN)

Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
UserName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


def role_allows(role: Role, needed: Role) -> bool:
    """Whether `role` may do what `needed` may (each role includes the ones before it)."""
    return ROLES.index(role) >= ROLES.index(needed)


def valid_user_name(name: str) -> bool:
    """Lowercase letters, digits and ``_ . @ -``, up to 64, starting with a letter or digit."""
    return _USER_NAME.match(name) is not None


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: an operator (``user``) or an API token (``token``), and their role."""

    name: str
    role: Role
    kind: Literal["user", "token"]

    @property
    def actor(self) -> str:
        """How the audit trail names them: the user's name, or ``token:<name>``."""
        return self.name if self.kind == "user" else f"token:{self.name}"


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """auth.api.login (and the body of POST /api/auth/login, without ``client``)."""

    user: UserName
    password: Password
    # Where the login came from, for the log (an address), set by the HTTP door.
    client: str | None = None


class LoginResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A new session (its secret goes in an HttpOnly cookie) and its CSRF token."""

    session: str
    csrf: str
    principal: Principal
    expires_at: datetime
    # Logged in with a one-time password: the session may only change it.
    password_change_required: bool = False


class AuthenticateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """auth.api.authenticate: a session secret or an API token (exactly one)."""

    session: Secret | None = None
    token: Secret | None = None


class AuthenticateResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who the credential belongs to (and the session's CSRF token)."""

    principal: Principal
    csrf: str | None = None
    password_change_required: bool = False


class LogoutRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """auth.api.logout: end the session."""

    session: Secret


class PasswordRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """auth.api.password: an operator changes their own password (the current one proves it)."""

    user: UserName
    current: Password
    new: Password


class Done(msgspec.Struct, frozen=True, kw_only=True):
    """The result of a logout or a password change: carried out (``{}``)."""
