"""Which role each HTTP route needs: reads need a viewer, changes an operator, and anything
under /api/admin/ (users and API tokens, reads included) an admin."""

from collections.abc import Iterable
from typing import Final

from mirror_schema.account_operations import ADMIN_PREFIX
from mirror_schema.auth_api import Role

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# Open to anyone: liveness, Prometheus scraping, and the door to log in.
ALWAYS_PUBLIC: Final = frozenset(
    {("GET", "/api/health"), ("GET", "/metrics"), ("POST", "/api/auth/login")}
)
# Any logged-in operator may end their session and change their own password.
ANY_ROLE: Final = frozenset({("POST", "/api/auth/logout"), ("POST", "/api/auth/password")})
# All that a session opened with a one-time password may do until it is changed.
PASSWORD_CHANGE_ALLOWS: Final = ANY_ROLE | {("GET", "/api/auth/me")}
# Only these trees need a login; the rest (the HUD's page, scripts, styles) is public.
PROTECTED_PREFIXES: Final = ("/api/", "/ws/")


class AccessPolicy:
    """The role (method, path) needs, or None when it is public."""

    def __init__(self, public: Iterable[tuple[str, str]] = ()) -> None:
        self.public = ALWAYS_PUBLIC | frozenset(public)

    def required_role(self, method: str, path: str) -> Role | None:
        """None: anyone. Otherwise the least role that may."""
        if (method, path) in self.public or not path.startswith(PROTECTED_PREFIXES):
            return None
        if path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/"):
            return "admin"
        if method in SAFE_METHODS or (method, path) in ANY_ROLE:
            return "viewer"
        return "operator"
