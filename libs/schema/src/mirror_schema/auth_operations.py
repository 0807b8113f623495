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

LOGIN: Final = Operation(
    service=SERVICE,
    name="login",
    summary="Open a session for a user whose password this is (counted against lock-outs)",
    request=LoginRequest,
    result=LoginResult,
    subject=subjects.AUTH_API_LOGIN,
    errors=("invalid", "malformed", "unauthorized", "locked"),
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
)

OPERATIONS: Final = (LOGIN, AUTHENTICATE, LOGOUT, PASSWORD)
