"""ServiceConfig: what every service reads from the environment at start-up."""

import sys
from collections.abc import Mapping

import msgspec

from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.environment import (
    DEFAULT_NATS_URL,
    PREFIX,
    read_certificate,
    read_count,
    read_file_path,
    read_log_format,
    read_networks,
    read_number,
    read_port,
    read_switch,
    stage_environment,
)


class ServiceConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings common to every service; a service's own Config may extend it."""

    name: str
    nats_url: str = DEFAULT_NATS_URL
    # The service's identity on the bus (an NKey seed or a .creds file); None: anonymous.
    nats_credentials_file: str | None = None
    db_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int
    log_format: str = "json"
    nats_connect_timeout_seconds: float = 30.0
    # Connections to PostgreSQL: background writers plus concurrent HTTP queries.
    db_pool_size: int = 8
    auth: AuthSettings = AuthSettings()
    # HTTPS when both are set.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # The authority to trust for a NATS server that requires TLS (else the system's).
    tls_ca_file: str | None = None
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; from
    # anyone else the header is ignored. None by default: the client is the peer.
    trusted_proxies: tuple[str, ...] = ()
    # Serve /openapi.json (never /docs or /redoc, whose pages load scripts from a CDN).
    openapi: bool = False


def service_config_from_env(name: str, part: str, environ: Mapping[str, str]) -> ServiceConfig:
    """Build the config of service `name` (whose port variable is `part`) from `environ`."""
    env = stage_environment(environ)
    certificate = read_certificate(env)
    return ServiceConfig(
        name=name,
        nats_url=env.get(f"{PREFIX}NATS_URL", DEFAULT_NATS_URL),
        nats_credentials_file=read_file_path(env, f"{PREFIX}NATS_CREDENTIALS_FILE"),
        db_url=env.get(f"{PREFIX}DB_URL") or None,
        http_port=read_port(env, part),
        log_format=read_log_format(env, is_tty=sys.stderr.isatty()),
        auth=auth_settings(env, secure_cookies=certificate is not None),
        tls_cert_file=certificate[0] if certificate else None,
        tls_key_file=certificate[1] if certificate else None,
        tls_ca_file=read_file_path(env, f"{PREFIX}TLS_CA_FILE"),
        trusted_proxies=read_networks(env, f"{PREFIX}TRUSTED_PROXIES"),
        openapi=read_switch(env, f"{PREFIX}HTTP_OPENAPI", default=False),
    )


def auth_settings(env: Mapping[str, str], *, secure_cookies: bool) -> AuthSettings:
    """Logins on or off, session lengths and the lock-out, from MIRROR_STAGE_* variables."""
    defaults = AuthSettings()
    return AuthSettings(
        enabled=read_switch(env, f"{PREFIX}HTTP_AUTH", default=True),
        session_hours=read_number(
            env, f"{PREFIX}SESSION_HOURS", defaults.session_hours, minimum=0.01
        ),
        idle_minutes=read_number(
            env, f"{PREFIX}SESSION_IDLE_MINUTES", defaults.idle_minutes, minimum=1
        ),
        lockout_failures=read_count(
            env, f"{PREFIX}LOGIN_LOCKOUT_FAILURES", defaults.lockout_failures, minimum=1
        ),
        lockout_minutes=read_number(
            env, f"{PREFIX}LOGIN_LOCKOUT_MINUTES", defaults.lockout_minutes, minimum=0.01
        ),
        address_failures=read_count(
            env, f"{PREFIX}LOGIN_ADDRESS_FAILURES", defaults.address_failures, minimum=1
        ),
        secure_cookies=secure_cookies,
        max_sockets_per_principal=read_count(
            env,
            f"{PREFIX}MAX_SOCKETS_PER_PRINCIPAL",
            defaults.max_sockets_per_principal,
            minimum=1,
        ),
    )
