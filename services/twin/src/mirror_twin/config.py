"""TwinConfig: the twin's settings, read once from the environment."""

import os
import socket
from collections.abc import Mapping

import msgspec

from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import BadValueError, read_number, stage_environment
from mirror_twin.model.status import StatusPolicy


class TwinConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the twin service reads at start-up."""

    service: ServiceConfig
    twin_id: str
    # Diffs are coalesced: at most one every this many seconds.
    diff_interval_seconds: float = 0.1
    sweep_interval_seconds: float = 1.0
    # Messages waiting for one WebSocket client; past it the client is resynced with a frame.
    client_queue_size: int = 64
    status_policy: StatusPolicy = StatusPolicy()
    # How often the state is saved to the checkpoint bucket.
    checkpoint_interval_seconds: float = 30.0
    # After a restart, replay from the checkpoint at most this many samples; a longer backlog
    # is skipped by starting from the latest sample of every host instead.
    max_replay_samples: int = 200_000


def from_env(environ: Mapping[str, str]) -> TwinConfig:
    """The twin's config; the twin id names this replica in its frames.

    Raises ConfigError naming the variable when one is unknown or has a bad value.
    """
    # The twin keeps nothing in PostgreSQL and checks logins over the bus, so it never takes
    # the database even when MIRROR_STAGE_DB_URL is set for the whole stack.
    service = msgspec.structs.replace(service_config_from_env("twin", "TWIN", environ), db_url=None)
    env = stage_environment(environ)
    defaults = TwinConfig(service=service, twin_id="")

    def number(name: str, default: float, minimum: float) -> float:
        return read_number(env, f"MIRROR_STAGE_TWIN_{name}", default, minimum=minimum)

    stale = number("STALE_INTERVALS", defaults.status_policy.stale_after_intervals, 1)
    offline = number("OFFLINE_INTERVALS", defaults.status_policy.offline_after_intervals, 2)
    if offline <= stale:
        raise BadValueError(
            "MIRROR_STAGE_TWIN_OFFLINE_INTERVALS",
            env.get("MIRROR_STAGE_TWIN_OFFLINE_INTERVALS", str(offline)),
            f"more intervals than MIRROR_STAGE_TWIN_STALE_INTERVALS ({stale:g})",
        )
    diff_ms = number("DIFF_INTERVAL_MS", defaults.diff_interval_seconds * 1000, 10)
    return TwinConfig(
        service=service,
        twin_id=f"{socket.gethostname()}-{os.getpid()}",
        diff_interval_seconds=diff_ms / 1000,
        client_queue_size=int(number("CLIENT_QUEUE", defaults.client_queue_size, 2)),
        status_policy=StatusPolicy(stale_after_intervals=stale, offline_after_intervals=offline),
        checkpoint_interval_seconds=number(
            "CHECKPOINT_SECONDS", defaults.checkpoint_interval_seconds, 0.5
        ),
        max_replay_samples=int(number("MAX_REPLAY", defaults.max_replay_samples, 0)),
    )
