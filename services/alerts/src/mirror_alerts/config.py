"""AlertsConfig: the alerts service's pace, bounds and receivers, read once from the environment."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import msgspec

from mirror_alerts.notify.receivers import ReceiversConfig, decode_receivers, receivers_from
from mirror_runtime import parsers
from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import BadValueError, stage_environment
from mirror_runtime.setting import Setting, SettingGroup

__all__ = ["AlertsConfig", "from_env", "load_receivers"]

RECEIVERS_FILE = Setting(
    variable="MIRROR_STAGE_ALERTS_RECEIVERS_FILE",
    default=None,
    parser=parsers.text_or_none("a receivers file: JSON, or TOML by its `.toml` suffix"),
    meaning="the webhook receivers; a bad file stops the service naming the field",
)
GROUP_WAIT_SECONDS = Setting(
    variable="MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS",
    default=15.0,
    parser=parsers.number(minimum=0),
    meaning="a new incident waits this long for the host's other alerts of the rule to join its "
    "notification",
)
REPEAT_INTERVAL_SECONDS = Setting(
    variable="MIRROR_STAGE_ALERTS_REPEAT_INTERVAL_SECONDS",
    default=4 * 3600.0,
    parser=parsers.number(minimum=1),
    meaning="an incident still firing and not acknowledged is notified again this often",
)
SWEEP_SECONDS = Setting(
    variable="MIRROR_STAGE_ALERTS_SWEEP_SECONDS",
    default=1.0,
    parser=parsers.number(minimum=0.05),
    meaning="how often the host-offline rules are checked",
)
SNAPSHOT_SECONDS = Setting(
    variable="MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS",
    default=5.0,
    parser=parsers.number(minimum=0.1),
    meaning="how often the evaluator's state and stream position are saved",
)
MAX_REPLAY = Setting(
    variable="MIRROR_STAGE_ALERTS_MAX_REPLAY",
    default=500_000,
    parser=parsers.count(minimum=0),
    meaning="a new leader replays at most this many samples after its snapshot",
)

SETTINGS = SettingGroup(
    title="The alerts service",
    order=3,
    settings=(
        RECEIVERS_FILE,
        GROUP_WAIT_SECONDS,
        REPEAT_INTERVAL_SECONDS,
        SWEEP_SECONDS,
        SNAPSHOT_SECONDS,
        MAX_REPLAY,
    ),
)


class AlertsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the alerts service reads at start-up."""

    service: ServiceConfig
    receivers: ReceiversConfig = msgspec.field(default_factory=ReceiversConfig)
    # A firing alert waits this long for the host's other resources to join its notification.
    group_wait: timedelta = timedelta(seconds=GROUP_WAIT_SECONDS.default)
    # An incident still firing (and not acknowledged) is notified again this often.
    repeat_interval: timedelta = timedelta(seconds=REPEAT_INTERVAL_SECONDS.default)
    # How often the host-offline rule is checked.
    sweep_seconds: float = SWEEP_SECONDS.default
    # How often the evaluator's state and stream position are saved (a restart replays from it).
    snapshot_seconds: float = SNAPSHOT_SECONDS.default
    # A new leader replays at most this many samples after the snapshot; past it, it starts
    # from each host's latest sample instead (a long outage must not mean a long catch-up).
    max_replay: int = MAX_REPLAY.default


def load_receivers(path: Path) -> ReceiversConfig:
    """Read a receivers file (JSON, or TOML when it ends in .toml); errors name the variable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadValueError(
            RECEIVERS_FILE.variable, str(path), f"a readable file ({exc})"
        ) from None
    try:
        if path.suffix == ".toml":
            return receivers_from(tomllib.loads(data.decode("utf-8")))
        return decode_receivers(data)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        raise BadValueError(
            RECEIVERS_FILE.variable, str(path), f"a valid receivers file: {exc}"
        ) from None


def from_env(environ: Mapping[str, str]) -> AlertsConfig:
    """Build the service's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    service = service_config_from_env("alerts", "ALERTS", environ)
    env = stage_environment(environ)
    receivers_file = RECEIVERS_FILE.read(env)
    return AlertsConfig(
        service=service,
        receivers=load_receivers(Path(receivers_file)) if receivers_file else ReceiversConfig(),
        group_wait=timedelta(seconds=GROUP_WAIT_SECONDS.read(env)),
        repeat_interval=timedelta(seconds=REPEAT_INTERVAL_SECONDS.read(env)),
        sweep_seconds=SWEEP_SECONDS.read(env),
        snapshot_seconds=SNAPSHOT_SECONDS.read(env),
        max_replay=MAX_REPLAY.read(env),
    )
