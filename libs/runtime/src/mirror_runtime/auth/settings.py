"""AuthSettings: whether HTTP needs a login, and how long sessions and lock-outs last."""

from collections.abc import Mapping
from typing import Any

import msgspec

from mirror_runtime import parsers
from mirror_runtime.setting import Setting

HTTP_AUTH = Setting(
    variable="MIRROR_STAGE_HTTP_AUTH",
    default=True,
    parser=parsers.switch(),
    meaning="`off` opens every HTTP route (development and tests only; logged as a warning)",
)
SESSION_HOURS = Setting(
    variable="MIRROR_STAGE_SESSION_HOURS",
    default=12.0,
    parser=parsers.number(minimum=0.01),
    meaning="a session's longest life",
)
SESSION_IDLE_MINUTES = Setting(
    variable="MIRROR_STAGE_SESSION_IDLE_MINUTES",
    default=60.0,
    parser=parsers.number(minimum=1),
    meaning="a session unused this long ends before its expiry",
)
LOGIN_LOCKOUT_FAILURES = Setting(
    variable="MIRROR_STAGE_LOGIN_LOCKOUT_FAILURES",
    default=5,
    parser=parsers.count(minimum=1),
    meaning="wrong passwords in a row that lock an account",
)
LOGIN_LOCKOUT_MINUTES = Setting(
    variable="MIRROR_STAGE_LOGIN_LOCKOUT_MINUTES",
    default=15.0,
    parser=parsers.number(minimum=0.01),
    meaning="how long a locked account stays locked",
)
LOGIN_ADDRESS_FAILURES = Setting(
    variable="MIRROR_STAGE_LOGIN_ADDRESS_FAILURES",
    default=20,
    parser=parsers.count(minimum=1),
    meaning="failed logins from one client address (any user names) within the lock-out "
    "minutes after which that address is refused (429) until the oldest ages out",
)
MAX_SOCKETS_PER_PRINCIPAL = Setting(
    variable="MIRROR_STAGE_MAX_SOCKETS_PER_PRINCIPAL",
    default=16,
    parser=parsers.count(minimum=1),
    meaning="live WebSockets one user or token may hold on one service process; the next is "
    "closed at once (1008) naming the limit",
)
SOCKET_RECHECK_SECONDS = Setting(
    variable="MIRROR_STAGE_SOCKET_RECHECK_SECONDS",
    default=5.0,
    parser=parsers.number(minimum=0.2),
    meaning="how often every live WebSocket's login is checked again: a logout, password change "
    "or removal made on another service or the command line closes it within this time",
)

AUTH_SETTINGS: tuple[Setting[Any], ...] = (
    HTTP_AUTH,
    SESSION_HOURS,
    SESSION_IDLE_MINUTES,
    LOGIN_LOCKOUT_FAILURES,
    LOGIN_LOCKOUT_MINUTES,
    LOGIN_ADDRESS_FAILURES,
    MAX_SOCKETS_PER_PRINCIPAL,
    SOCKET_RECHECK_SECONDS,
)


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Read once from the environment (auth_settings below)."""

    # Off only for development and tests: every HTTP route is then open (logged at start).
    enabled: bool = HTTP_AUTH.default
    session_hours: float = SESSION_HOURS.default
    # A session unused this long ends before its expiry.
    idle_minutes: float = SESSION_IDLE_MINUTES.default
    # This many wrong passwords in a row lock the account for lockout_minutes.
    lockout_failures: int = LOGIN_LOCKOUT_FAILURES.default
    lockout_minutes: float = LOGIN_LOCKOUT_MINUTES.default
    # This many failed logins from one address (any user names) within lockout_minutes
    # refuse that address's logins until the oldest is older than that.
    address_failures: int = LOGIN_ADDRESS_FAILURES.default
    # Set on cookies when the service serves HTTPS.
    secure_cookies: bool = False
    # Live WebSockets one principal (a user, a token) may hold on one service process.
    max_sockets_per_principal: int = MAX_SOCKETS_PER_PRINCIPAL.default
    # How often every live socket's credential is checked again.
    socket_recheck_seconds: float = SOCKET_RECHECK_SECONDS.default


def auth_settings(env: Mapping[str, str], *, secure_cookies: bool) -> AuthSettings:
    """Logins on or off, session lengths and the lock-out, from MIRROR_STAGE_* variables."""
    return AuthSettings(
        enabled=HTTP_AUTH.read(env),
        session_hours=SESSION_HOURS.read(env),
        idle_minutes=SESSION_IDLE_MINUTES.read(env),
        lockout_failures=LOGIN_LOCKOUT_FAILURES.read(env),
        lockout_minutes=LOGIN_LOCKOUT_MINUTES.read(env),
        address_failures=LOGIN_ADDRESS_FAILURES.read(env),
        secure_cookies=secure_cookies,
        max_sockets_per_principal=MAX_SOCKETS_PER_PRINCIPAL.read(env),
        socket_recheck_seconds=SOCKET_RECHECK_SECONDS.read(env),
    )
