"""AgentConfig: the agent's TOML file, validated at start-up."""

import tomllib
from pathlib import Path
from typing import Annotated

import msgspec

from mirror_schema.hosts import HostId


class AgentConfigError(ValueError):
    """The config file is missing, not TOML, or has a bad or unknown key."""


class AgentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one agent."""

    nats_url: str = "nats://127.0.0.1:4222"
    host_id: HostId | None = None
    hostname: str | None = None
    rack: str | None = None
    tags: dict[str, str] = {}
    interval_seconds: Annotated[float, msgspec.Meta(ge=0.5)] = 5.0
    top_processes: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5
    buffer_dir: str | None = None


def load_config(path: Path) -> AgentConfig:
    """Read and validate `path`; the error names the file and the key."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise AgentConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"config {path} is not valid TOML: {exc}") from None
    try:
        return msgspec.convert(raw, AgentConfig)
    except msgspec.ValidationError as exc:
        raise AgentConfigError(f"config {path}: {exc}") from None
