"""TwinConfig: the twin's settings, read once from the environment."""

import os
import socket
from collections.abc import Mapping

import msgspec

from mirror_runtime.config import ServiceConfig, service_config_from_env


class TwinConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the twin service reads at start-up."""

    service: ServiceConfig
    twin_id: str
    # Diffs are coalesced: at most one every this many seconds.
    diff_interval_seconds: float = 0.1
    sweep_interval_seconds: float = 1.0
    # Messages waiting for one WebSocket client; past it the client is resynced with a frame.
    client_queue_size: int = 64


def from_env(environ: Mapping[str, str]) -> TwinConfig:
    """The twin's config; the twin id names this replica in its frames."""
    service = service_config_from_env("twin", "TWIN", environ)
    return TwinConfig(service=service, twin_id=f"{socket.gethostname()}-{os.getpid()}")
