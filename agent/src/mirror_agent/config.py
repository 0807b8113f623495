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


def described(meaning: str, *, ge: float | None = None, le: float | None = None) -> msgspec.Meta:
    """A key's meaning, and its bounds: docs/configuration.md's table is made from them."""
    return msgspec.Meta(description=meaning, ge=ge, le=le)


class AgentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one agent; every key of the TOML file, with its default and meaning."""

    nats_url: Annotated[str, described("the bus")] = "nats://127.0.0.1:4222"
    credentials_file: Annotated[
        str | None,
        described(
            "the agent's identity on the bus: an NKey user seed (`SU...`, as enrollment writes "
            "it) or a decentralised-JWT `.creds` file. Replies to the agent come under "
            "`_INBOX.<host id>`, the only inbox its permissions let it read"
        ),
    ] = None
    tls_ca_file: Annotated[
        str | None,
        described(
            "the authority that signed the NATS server's certificate, when the server requires "
            "TLS and the system does not already trust it"
        ),
    ] = None
    host_id: Annotated[
        HostId | None, described("the host's id on the bus; none: derived from the hostname")
    ] = None
    hostname: Annotated[
        str | None, described("the host's name on the bus; none: this machine's hostname")
    ] = None
    rack: Annotated[str | None, described("placement for the twin: the rack")] = None
    position: Annotated[Position | None, described("placement for the twin in its 3-D space")] = (
        None
    )
    tags: Annotated[dict[str, str], described('labels for the twin: `{key = "value"}`')] = {}
    interval_seconds: Annotated[
        float, described("how often a sample is taken and sent", ge=0.5, le=3600)
    ] = 5.0
    top_processes: Annotated[
        int, described("how many of the busiest processes to send", ge=0, le=100)
    ] = 5
    buffer_dir: Annotated[
        str | None, described("where samples wait while the bus is away; none: memory only")
    ] = None
    buffer_max_bytes: Annotated[int, described("the buffer's cap", ge=64 * 1024)] = (
        DEFAULT_BUFFER_MAX_BYTES
    )
    transport: Annotated[
        Literal["nats", "http"],
        described("how samples are sent: over NATS, or over HTTP to `ingest_url`"),
    ] = "nats"
    ingest_url: Annotated[
        str | None,
        described(
            'with `transport = "http"`: the ingest\'s base URL, `http://` or `https://` '
            "(e.g. `http://ingest:8101`)"
        ),
    ] = None
    ingest_token: Annotated[
        str | None, described('with `transport = "http"`: the bearer token')
    ] = None
    join_token: Annotated[
        str | None,
        described(
            "a join token (`mirror-stage agent join-token create`): with no `credentials_file`, "
            "the agent joins with it once, makes and keeps its own identity in `identity_dir`, "
            "and runs as itself (also `mirror-agent --join TOKEN`)"
        ),
    ] = None
    identity_dir: Annotated[
        str,
        described("where a joined agent keeps its identity, ingest token and the join's answer"),
    ] = "/var/lib/mirror-agent/identity"
    commands: Annotated[
        CommandSettings,
        described(
            "which commands this host runs, and how: described in "
            "[agent.md](agent.md#commands-on-the-host-commands)"
        ),
    ] = msgspec.field(default_factory=CommandSettings)


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
    if config.join_token and config.credentials_file:
        raise AgentConfigError(
            f"config {path}: set `credentials_file` (an enrolled identity) or `join_token` "
            "(join and make one), not both"
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
