"""TwinConfig: the twin's settings, declared once and read once from the environment."""

import os
import socket
from collections.abc import Mapping

import msgspec

from mirror_runtime import parsers
from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import BadValueError, stage_environment
from mirror_runtime.setting import Setting, SettingGroup
from mirror_twin.model.status import StatusPolicy

_DEFAULT_POLICY = StatusPolicy()

DIFF_INTERVAL_MS = Setting(
    variable="MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS",
    default=100.0,
    parser=parsers.number(minimum=10),
    meaning="the twin sends at most one diff this often",
)
CLIENT_QUEUE = Setting(
    variable="MIRROR_STAGE_TWIN_CLIENT_QUEUE",
    default=64,
    parser=parsers.number_as_int(minimum=2),
    meaning="messages queued for one WebSocket client before it is resynced with a frame",
)
STALE_INTERVALS = Setting(
    variable="MIRROR_STAGE_TWIN_STALE_INTERVALS",
    default=_DEFAULT_POLICY.stale_after_intervals,
    parser=parsers.number(minimum=1),
    meaning="silence, in the host's own sampling intervals, after which it is stale",
)
OFFLINE_INTERVALS = Setting(
    variable="MIRROR_STAGE_TWIN_OFFLINE_INTERVALS",
    default=_DEFAULT_POLICY.offline_after_intervals,
    parser=parsers.number(minimum=2),
    meaning="silence, in the host's own sampling intervals, after which it is offline (more "
    "than `MIRROR_STAGE_TWIN_STALE_INTERVALS`)",
)
CHECKPOINT_SECONDS = Setting(
    variable="MIRROR_STAGE_TWIN_CHECKPOINT_SECONDS",
    default=30.0,
    parser=parsers.number(minimum=0.5),
    meaning="how often the twin starts a checkpoint round",
)
MAX_REPLAY = Setting(
    variable="MIRROR_STAGE_TWIN_MAX_REPLAY",
    default=200_000,
    parser=parsers.number_as_int(minimum=0),
    meaning="after a restart, the longest backlog of samples replayed one by one",
)
MAX_LAG_SECONDS = Setting(
    variable="MIRROR_STAGE_TWIN_MAX_LAG_SECONDS",
    default=5.0,
    parser=parsers.number(minimum=0.5),
    meaning="how far behind the samples the twin may fall under load before it skips to "
    "every host's latest sample",
)

SETTINGS = SettingGroup(
    title="The twin",
    order=1,
    settings=(
        DIFF_INTERVAL_MS,
        CLIENT_QUEUE,
        STALE_INTERVALS,
        OFFLINE_INTERVALS,
        CHECKPOINT_SECONDS,
        MAX_REPLAY,
        MAX_LAG_SECONDS,
    ),
)


class TwinConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the twin service reads at start-up."""

    service: ServiceConfig
    twin_id: str
    # Diffs are coalesced: at most one every this many seconds.
    diff_interval_seconds: float = DIFF_INTERVAL_MS.default / 1000
    sweep_interval_seconds: float = 1.0
    # Messages waiting for one WebSocket client; past it the client is resynced with a frame.
    client_queue_size: int = CLIENT_QUEUE.default
    status_policy: StatusPolicy = _DEFAULT_POLICY
    # How often the state is saved to the checkpoint bucket.
    checkpoint_interval_seconds: float = CHECKPOINT_SECONDS.default
    # After a restart, replay from the checkpoint at most this many samples; a longer backlog
    # is skipped by starting from the latest sample of every host instead.
    max_replay_samples: int = MAX_REPLAY.default
    # Under a load it cannot keep up with, once the sample it applies is older than this and
    # more samples wait than it holds hosts, the twin skips to every host's latest sample
    # rather than fall further behind (it shows the present, not each sample on the way).
    max_lag_seconds: float = MAX_LAG_SECONDS.default


def from_env(environ: Mapping[str, str]) -> TwinConfig:
    """The twin's config; the twin id names this replica in its frames.

    Raises ConfigError naming the variable when one is unknown or has a bad value.
    """
    # The twin keeps nothing in PostgreSQL and checks logins over the bus, so it never takes
    # the database even when MIRROR_STAGE_DB_URL is set for the whole stack.
    service = msgspec.structs.replace(service_config_from_env("twin", "TWIN", environ), db_url=None)
    env = stage_environment(environ)
    stale = STALE_INTERVALS.read(env)
    offline = OFFLINE_INTERVALS.read(env)
    if offline <= stale:
        raise BadValueError(
            OFFLINE_INTERVALS.variable,
            env.get(OFFLINE_INTERVALS.variable, str(offline)),
            f"more intervals than {STALE_INTERVALS.variable} ({stale:g})",
        )
    return TwinConfig(
        service=service,
        twin_id=f"{socket.gethostname()}-{os.getpid()}",
        diff_interval_seconds=DIFF_INTERVAL_MS.read(env) / 1000,
        client_queue_size=CLIENT_QUEUE.read(env),
        status_policy=StatusPolicy(stale_after_intervals=stale, offline_after_intervals=offline),
        checkpoint_interval_seconds=CHECKPOINT_SECONDS.read(env),
        max_replay_samples=MAX_REPLAY.read(env),
        max_lag_seconds=MAX_LAG_SECONDS.read(env),
    )
