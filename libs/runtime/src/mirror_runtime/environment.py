"""The one reader of MIRROR_STAGE_* environment variables: unknown names are an error."""

import ipaddress
import math
from collections.abc import Mapping

PREFIX = "MIRROR_STAGE_"

PARTS: tuple[str, ...] = ("TWIN", "INGEST", "ALERTS", "COMMANDS")

DEFAULT_PORTS: Mapping[str, int] = {"TWIN": 8100, "INGEST": 8101, "ALERTS": 8102, "COMMANDS": 8103}

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"

KNOWN_VARIABLES: frozenset[str] = frozenset(
    {
        "MIRROR_STAGE_NATS_URL",
        # The service's identity on the bus: an NKey seed or a .creds file (mirror_runtime.serve).
        "MIRROR_STAGE_NATS_CREDENTIALS_FILE",
        "MIRROR_STAGE_DB_URL",
        # Operators' logins on every service's HTTP API (mirror_runtime.auth).
        "MIRROR_STAGE_HTTP_AUTH",
        "MIRROR_STAGE_SESSION_HOURS",
        "MIRROR_STAGE_SESSION_IDLE_MINUTES",
        "MIRROR_STAGE_LOGIN_LOCKOUT_FAILURES",
        "MIRROR_STAGE_LOGIN_LOCKOUT_MINUTES",
        "MIRROR_STAGE_LOGIN_ADDRESS_FAILURES",
        "MIRROR_STAGE_MAX_SOCKETS_PER_PRINCIPAL",
        # The HTTP servers' own rules (mirror_runtime.config): whose X-Forwarded-For is
        # believed, whether /openapi.json is served.
        "MIRROR_STAGE_TRUSTED_PROXIES",
        "MIRROR_STAGE_HTTP_OPENAPI",
        # HTTPS for every service (both or neither).
        "MIRROR_STAGE_TLS_CERT_FILE",
        "MIRROR_STAGE_TLS_KEY_FILE",
        # The authority that signed NATS's (and the services') certificate, for their clients.
        "MIRROR_STAGE_TLS_CA_FILE",
        "MIRROR_STAGE_DATA_DIR",
        "MIRROR_STAGE_LOG_FORMAT",
        # How often the embedded nats-server syncs JetStream to disk (mirror_stage.layout).
        "MIRROR_STAGE_NATS_SYNC_INTERVAL",
        # Test harness only: run the real servers in Docker instead of from the wheels.
        "MIRROR_STAGE_TEST_DOCKER",
        # The ingest's limits and the history's retention (mirror_ingest.config).
        "MIRROR_STAGE_INGEST_MAX_BODY_BYTES",
        "MIRROR_STAGE_INGEST_MAX_BATCH",
        "MIRROR_STAGE_INGEST_MAX_FUTURE_SECONDS",
        "MIRROR_STAGE_INGEST_MAX_AGE_SECONDS",
        "MIRROR_STAGE_INGEST_HOST_RATE",
        "MIRROR_STAGE_INGEST_HOST_BURST",
        "MIRROR_STAGE_INGEST_TOKENS_FILE",
        "MIRROR_STAGE_HISTORY_RETENTION_DAYS",
        # The twin's pace and bounds (mirror_twin.config).
        "MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS",
        "MIRROR_STAGE_TWIN_CLIENT_QUEUE",
        "MIRROR_STAGE_TWIN_STALE_INTERVALS",
        "MIRROR_STAGE_TWIN_OFFLINE_INTERVALS",
        "MIRROR_STAGE_TWIN_CHECKPOINT_SECONDS",
        "MIRROR_STAGE_TWIN_MAX_REPLAY",
        # The commands service's limits and pace (mirror_commands.config).
        "MIRROR_STAGE_COMMANDS_MAX_TIMEOUT_SECONDS",
        "MIRROR_STAGE_COMMANDS_EXPIRY_SECONDS",
        "MIRROR_STAGE_COMMANDS_ONLINE_SECONDS",
        "MIRROR_STAGE_COMMANDS_SWEEP_SECONDS",
        "MIRROR_STAGE_COMMANDS_CANCEL_TIMEOUT_SECONDS",
        # The alerts service's pace and its notification receivers (mirror_alerts.config).
        "MIRROR_STAGE_ALERTS_RECEIVERS_FILE",
        "MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS",
        "MIRROR_STAGE_ALERTS_REPEAT_INTERVAL_SECONDS",
        "MIRROR_STAGE_ALERTS_SWEEP_SECONDS",
        "MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS",
        "MIRROR_STAGE_ALERTS_MAX_REPLAY",
        *(f"MIRROR_STAGE_{part}_PORT" for part in PARTS),
    }
)


class ConfigError(ValueError):
    """A MIRROR_STAGE_* variable is unknown or has a bad value."""


class UnknownVariableError(ConfigError):
    """A MIRROR_STAGE_* variable that no part of the stack reads: most likely a typo."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        known = ", ".join(sorted(KNOWN_VARIABLES))
        super().__init__(
            f"unknown environment variable(s) {', '.join(names)}; the known ones are: {known}"
        )


class BadValueError(ConfigError):
    """A known variable whose value cannot be used."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")


def stage_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the MIRROR_STAGE_* variables of `environ`, refusing any unknown name."""
    ours = {name: value for name, value in environ.items() if name.startswith(PREFIX)}
    unknown = sorted(name for name in ours if name not in KNOWN_VARIABLES)
    if unknown:
        raise UnknownVariableError(unknown)
    return ours


def port_variable(part: str) -> str:
    """Name of the variable that sets the HTTP port of `part` (TWIN, INGEST, ...)."""
    return f"{PREFIX}{part}_PORT"


def read_port(env: Mapping[str, str], part: str) -> int:
    """The HTTP port of `part`: its variable when set, else its default in DEFAULT_PORTS."""
    name = port_variable(part)
    raw = env.get(name)
    if raw is None:
        return DEFAULT_PORTS[part]
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise BadValueError(name, raw, "a TCP port number from 1 to 65535")
    return int(raw)


def read_number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    """A numeric variable at least `minimum`, or `default` when it is not set."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadValueError(name, raw, f"a finite number >= {minimum:g}") from None
    if not (math.isfinite(value) and value >= minimum):  # also refuses NaN and infinities
        raise BadValueError(name, raw, f"a finite number >= {minimum:g}")
    return value


def read_count(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    """A whole-number variable at least `minimum`, or `default` when it is not set."""
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < minimum:
        raise BadValueError(name, raw, f"a whole number >= {minimum}")
    return int(raw)


def read_file_path(env: Mapping[str, str], name: str) -> str | None:
    """A variable naming a readable file, or None when it is not set."""
    raw = env.get(name)
    if raw is None:
        return None
    try:
        with open(raw, "rb"):
            pass
    except OSError as exc:
        raise BadValueError(name, raw, f"a readable file ({exc.strerror})") from None
    return raw


def read_certificate(env: Mapping[str, str]) -> tuple[str, str] | None:
    """MIRROR_STAGE_TLS_CERT_FILE and ..._KEY_FILE, both readable, or None when neither is set."""
    cert = read_file_path(env, f"{PREFIX}TLS_CERT_FILE")
    key = read_file_path(env, f"{PREFIX}TLS_KEY_FILE")
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing = f"{PREFIX}TLS_KEY_FILE" if key is None else f"{PREFIX}TLS_CERT_FILE"
        raise BadValueError(missing, "", "set together with the other TLS file")
    return cert, key


def read_log_format(env: Mapping[str, str], *, is_tty: bool) -> str:
    """`json` or `console`; without the variable, console on a terminal and JSON elsewhere."""
    name = f"{PREFIX}LOG_FORMAT"
    raw = env.get(name)
    if raw is None:
        return "console" if is_tty else "json"
    if raw not in ("json", "console"):
        raise BadValueError(name, raw, "'json' or 'console'")
    return raw


def read_switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """`on` or `off` (also true/false, 1/0, yes/no)."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise BadValueError(name, raw, "'on' or 'off'")


def read_networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks (CIDR); () when it is not set."""
    raw = env.get(name, "")
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise BadValueError(
                name, raw, "IP addresses or networks separated by commas, e.g. 10.0.0.5,10.1.0.0/16"
            ) from None
    return tuple(networks)
