"""ServiceConfig: what every service reads from the environment at start-up, and the settings
every service (and the launcher) shares, declared once."""

import sys
from collections.abc import Mapping

import msgspec

from mirror_runtime import parsers
from mirror_runtime.auth.settings import AUTH_SETTINGS, AuthSettings, auth_settings
from mirror_runtime.environment import stage_environment
from mirror_runtime.setting import BadValueError, Setting, SettingGroup

NATS_URL = Setting(
    variable="MIRROR_STAGE_NATS_URL",
    default="nats://127.0.0.1:4222",
    parser=parsers.text("nats://HOST:PORT, or several separated by commas"),
    meaning="the bus; `mirror-stage up` runs its own NATS on this host and port",
)
NATS_CREDENTIALS_FILE = Setting(
    variable="MIRROR_STAGE_NATS_CREDENTIALS_FILE",
    default=None,
    parser=parsers.readable_file(),
    meaning="a service's identity on the bus: an NKey user seed or a `.creds` file; a server "
    "that refuses it stops the service at once, saying so",
)
DB_URL = Setting(
    variable="MIRROR_STAGE_DB_URL",
    default=None,
    parser=parsers.text_or_none("a PostgreSQL DSN"),
    meaning="a service's own role's address; for `mirror-stage up` and `mirror-stage db "
    "migrate`, an administrator's, used instead of starting one, to make the roles (the twin "
    "never uses it)",
    default_text="embedded",
)
HTTP_HOST = Setting(
    variable="MIRROR_STAGE_HTTP_HOST",
    default="127.0.0.1",
    parser=parsers.ip_address(),
    meaning="the address every service's HTTP port listens on: loopback by default, `0.0.0.0` "
    "(every interface) in a container or to serve the HUD and the HTTP agents from elsewhere",
)
TRUSTED_PROXIES = Setting(
    variable="MIRROR_STAGE_TRUSTED_PROXIES",
    default=(),
    parser=parsers.networks(),
    meaning="reverse proxies whose `X-Forwarded-For` names the client; from anyone else the "
    "header is ignored",
)
HTTP_OPENAPI = Setting(
    variable="MIRROR_STAGE_HTTP_OPENAPI",
    default=False,
    parser=parsers.switch(),
    meaning="`on` serves `/openapi.json` (never `/docs` or `/redoc`)",
)
TLS_CERT_FILE = Setting(
    variable="MIRROR_STAGE_TLS_CERT_FILE",
    default=None,
    parser=parsers.readable_file(),
    meaning="with `MIRROR_STAGE_TLS_KEY_FILE` (both or neither): HTTPS for every service, and "
    "TLS required by the embedded nats-server",
)
TLS_KEY_FILE = Setting(
    variable="MIRROR_STAGE_TLS_KEY_FILE",
    default=None,
    parser=parsers.readable_file(),
    meaning="the private key of `MIRROR_STAGE_TLS_CERT_FILE`",
)
TLS_CA_FILE = Setting(
    variable="MIRROR_STAGE_TLS_CA_FILE",
    default=None,
    parser=parsers.readable_file(),
    meaning="the authority the stack's NATS clients trust for the server's certificate",
    default_text="none (the system's authorities)",
)
LOG_FORMAT = Setting(
    variable="MIRROR_STAGE_LOG_FORMAT",
    default=None,
    parser=parsers.one_of("json", "console"),
    meaning="log rendering",
    default_text="`console` on a terminal, else `json`",
)
# The HTTP port of each service, by its part name.
PORTS: Mapping[str, Setting[int]] = {
    part: Setting(
        variable=f"MIRROR_STAGE_{part}_PORT",
        default=default,
        parser=parsers.port(),
        meaning=meaning,
    )
    for part, default, meaning in (
        ("TWIN", 8100, "the twin's HTTP port, and the HUD's"),
        ("INGEST", 8101, "the ingest's HTTP port"),
        ("ALERTS", 8102, "the alerts service's HTTP port"),
        ("COMMANDS", 8103, "the commands service's HTTP port"),
    )
}
PARTS: tuple[str, ...] = tuple(PORTS)

SETTINGS = SettingGroup(
    title="Every service",
    order=0,
    settings=(
        NATS_URL,
        NATS_CREDENTIALS_FILE,
        DB_URL,
        *AUTH_SETTINGS,
        HTTP_HOST,
        TRUSTED_PROXIES,
        HTTP_OPENAPI,
        TLS_CERT_FILE,
        TLS_KEY_FILE,
        TLS_CA_FILE,
        *PORTS.values(),
        LOG_FORMAT,
    ),
)


class ServiceConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings common to every service; a service's own Config may extend it."""

    name: str
    nats_url: str = NATS_URL.default
    # The service's identity on the bus (an NKey seed or a .creds file); None: anonymous.
    nats_credentials_file: str | None = None
    db_url: str | None = None
    http_host: str = HTTP_HOST.default
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
    trusted_proxies: tuple[str, ...] = TRUSTED_PROXIES.default
    # Serve /openapi.json (never /docs or /redoc, whose pages load scripts from a CDN).
    openapi: bool = HTTP_OPENAPI.default


def service_config_from_env(name: str, part: str, environ: Mapping[str, str]) -> ServiceConfig:
    """Build the config of service `name` (whose port variable is `part`) from `environ`."""
    env = stage_environment(environ)
    certificate = read_certificate(env)
    return ServiceConfig(
        name=name,
        nats_url=NATS_URL.read(env),
        nats_credentials_file=NATS_CREDENTIALS_FILE.read(env),
        db_url=DB_URL.read(env),
        http_host=HTTP_HOST.read(env),
        http_port=PORTS[part].read(env),
        log_format=read_log_format(env, is_tty=sys.stderr.isatty()),
        auth=auth_settings(env, secure_cookies=certificate is not None),
        tls_cert_file=certificate[0] if certificate else None,
        tls_key_file=certificate[1] if certificate else None,
        tls_ca_file=TLS_CA_FILE.read(env),
        trusted_proxies=TRUSTED_PROXIES.read(env),
        openapi=HTTP_OPENAPI.read(env),
    )


def read_certificate(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The certificate and key files, both readable, or None when neither is set."""
    cert = TLS_CERT_FILE.read(env)
    key = TLS_KEY_FILE.read(env)
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing = TLS_KEY_FILE.variable if key is None else TLS_CERT_FILE.variable
        raise BadValueError(missing, "", "set together with the other TLS file")
    return cert, key


def read_log_format(env: Mapping[str, str], *, is_tty: bool) -> str:
    """`json` or `console`; without the variable, console on a terminal and JSON elsewhere."""
    return LOG_FORMAT.read(env) or ("console" if is_tty else "json")
