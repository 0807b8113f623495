"""AuthSettings: whether HTTP needs a login, and how long sessions and lock-outs last."""

import msgspec


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Read once from the environment (mirror_runtime.config)."""

    # Off only for development and tests: every HTTP route is then open (logged at start).
    enabled: bool = True
    session_hours: float = 12.0
    # A session unused this long ends before its expiry.
    idle_minutes: float = 60.0
    # This many wrong passwords in a row lock the account for lockout_minutes.
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    # This many failed logins from one address (any user names) within lockout_minutes
    # refuse that address's logins until the oldest is older than that.
    address_failures: int = 20
    # Set on cookies when the service serves HTTPS.
    secure_cookies: bool = False
    # Live WebSockets one principal (a user, a token) may hold on one service process.
    max_sockets_per_principal: int = 16
