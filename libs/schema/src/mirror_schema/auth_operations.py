"""The accounts' API operations on the bus (``auth.api.*``), each declared once: every service
holding the database answers them through its NATS door (mirror_runtime.auth.endpoints), the
twin asks them (mirror_runtime.auth.remote), and docs/openapi.json lists them. Their HTTP side
is the login routes (mirror_runtime.auth.routes), which set and clear the session cookie and
so are not operations' doors."""

from __future__ import annotations

from typing import Final

from mirror_schema import subjects
from mirror_schema.api import Operation
from mirror_schema.auth_api import (
    AuthenticateRequest,
    AuthenticateResult,
    Done,
    LoginRequest,
    LoginResult,
    LogoutRequest,
    PasswordRequest,
)

__all__ = ["AUTHENTICATE", "LOGIN", "LOGOUT", "OPERATIONS", "PASSWORD"]

SERVICE: Final = "auth"

# A login checks one scrypt hash and a password change two (0.3-0.6 s of a core each), behind
# at most two others in the service (its CONCURRENT_HASHES): on a loaded 2-core machine that is
# more than the default 5 s, and a caller that gave up would report a change carried out as
# failed.
HASHING_REPLY_WITHIN_SECONDS: Final = 20.0

LOGIN: Final = Operation(
    service=SERVICE,
    name="login",
    summary="Open a session for a user whose password this is (counted against lock-outs)",
    request=LoginRequest,
    result=LoginResult,
    subject=subjects.AUTH_API_LOGIN,
    errors=("invalid", "malformed", "unauthorized", "locked"),
    reply_within_seconds=HASHING_REPLY_WITHIN_SECONDS,
)
AUTHENTICATE: Final = Operation(
    service=SERVICE,
    name="authenticate",
    summary="Who holds a session secret or an API token",
    request=AuthenticateRequest,
    result=AuthenticateResult,
    subject=subjects.AUTH_API_AUTHENTICATE,
    errors=("invalid", "malformed", "unauthorized"),
)
LOGOUT: Final = Operation(
    service=SERVICE,
    name="logout",
    summary="End a session",
    request=LogoutRequest,
    result=Done,
    subject=subjects.AUTH_API_LOGOUT,
    errors=("invalid", "malformed"),
)
PASSWORD: Final = Operation(
    service=SERVICE,
    name="password",
    summary="A user changes their own password (the current one proves it); their sessions end",
    request=PasswordRequest,
    result=Done,
    subject=subjects.AUTH_API_PASSWORD,
    errors=("invalid", "malformed", "unauthorized", "locked"),
    reply_within_seconds=HASHING_REPLY_WITHIN_SECONDS,
)

OPERATIONS: Final = (LOGIN, AUTHENTICATE, LOGOUT, PASSWORD)
