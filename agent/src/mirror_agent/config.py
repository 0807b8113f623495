"""AgentConfig: the agent's TOML file, validated at start-up."""

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from mirror_agent.commands.settings import CommandSettings, command_settings_error
from mirror_schema.hosts import HostId
from mirror_schema.samples import Position

DEFAULT_BUFFER_MAX_BYTES = 64 * 2**20


class AgentConfigError(ValueError):
    """The config file is missing, not TOML, or has a bad or unknown key."""


class AgentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one agent; every key of the TOML file, with its default."""

    nats_url: str = "nats://127.0.0.1:4222"
    # A NATS credentials (.creds) file: the agent's identity on the bus.
    credentials_file: str | None = None
    # The authority that signed the NATS server's certificate, when it requires TLS and the
    # system does not already trust it.
    tls_ca_file: str | None = None
    host_id: HostId | None = None
    hostname: str | None = None
    rack: str | None = None
    position: Position | None = None
    tags: dict[str, str] = {}
    interval_seconds: Annotated[float, msgspec.Meta(ge=0.5, le=3600)] = 5.0
    top_processes: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5
    # Where samples wait while the bus is away; None keeps them in memory only.
    buffer_dir: str | None = None
    buffer_max_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024)] = DEFAULT_BUFFER_MAX_BYTES
    transport: Literal["nats", "http"] = "nats"
    ingest_url: str | None = None  # with transport = "http": the ingest's base URL
    ingest_token: str | None = None  # with transport = "http": the bearer token
    # The `[commands]` table: which commands this host runs, and how (commands/settings.py).
    commands: CommandSettings = msgspec.field(default_factory=CommandSettings)


def validate(config: AgentConfig, path: Path) -> AgentConfig:
    """Checks that span several keys, with the key named in the message."""
    if config.transport == "http" and not config.ingest_url:
        raise AgentConfigError(
            f'config {path}: transport = "http" needs `ingest_url` (e.g. http://ingest:8101)'
        )
    if config.ingest_url and not config.ingest_url.startswith(("http://", "https://")):
        raise AgentConfigError(
            f"config {path}: `ingest_url` must start with http:// or https://, "
            f"got {config.ingest_url!r}"
        )
    for key, file in (
        ("credentials_file", config.credentials_file),
        ("tls_ca_file", config.tls_ca_file),
    ):
        if file and not Path(file).is_file():
            raise AgentConfigError(f"config {path}: `{key}` {file!r} does not exist")
    problem = command_settings_error(config.commands)
    if problem:
        raise AgentConfigError(f"config {path}: {problem}")
    return config


def load_config(path: Path) -> AgentConfig:
    """Read and validate `path`; the error names the file and the key."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise AgentConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"config {path} is not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(raw, AgentConfig)
    except msgspec.ValidationError as exc:
        raise AgentConfigError(f"config {path}: {exc}") from None
    return validate(config, path)
