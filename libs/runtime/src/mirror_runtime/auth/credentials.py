"""Session secrets, API tokens, their digests and the CSRF token derived from a session."""

import hashlib
import hmac
import secrets
from typing import Final

# API tokens start with this, so that a leaked one is recognisable (and greppable).
TOKEN_PREFIX: Final = "mst_"  # noqa: S105 - a prefix, not a secret


def new_session_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    """``mst_`` and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps of a session secret or token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session: str) -> str:
    """The CSRF token of a session: derived from its secret, so only a page that was given it
    by the login reply (or /api/auth/me) can send it; another site can read neither."""
    return hashlib.sha256(b"mirror-stage csrf\0" + session.encode()).hexdigest()


def csrf_matches(session: str, sent: str) -> bool:
    """Whether `sent` is the CSRF token of `session`, compared in constant time."""
    return hmac.compare_digest(csrf_token(session), sent)
