"""AlertsConfig: the alerts service's pace, bounds and receivers, read once from the environment."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import msgspec

from mirror_alerts.notify.receivers import ReceiversConfig, decode_receivers, receivers_from
from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import (
    BadValueError,
    read_count,
    read_number,
    stage_environment,
)

__all__ = ["AlertsConfig", "from_env", "load_receivers"]

RECEIVERS_VARIABLE = "MIRROR_STAGE_ALERTS_RECEIVERS_FILE"


class AlertsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the alerts service reads at start-up."""

    service: ServiceConfig
    receivers: ReceiversConfig = msgspec.field(default_factory=ReceiversConfig)
    # A firing alert waits this long for the host's other resources to join its notification.
    group_wait: timedelta = timedelta(seconds=15)
    # An incident still firing (and not acknowledged) is notified again this often.
    repeat_interval: timedelta = timedelta(hours=4)
    # How often the host-offline rule is checked.
    sweep_seconds: float = 1.0
    # How often the evaluator's state and stream position are saved (a restart replays from it).
    snapshot_seconds: float = 5.0
    # A new leader replays at most this many samples after the snapshot; past it, it starts
    # from each host's latest sample instead (a long outage must not mean a long catch-up).
    max_replay: int = 500_000


def load_receivers(path: Path) -> ReceiversConfig:
    """Read a receivers file (JSON, or TOML when it ends in .toml); errors name the variable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadValueError(RECEIVERS_VARIABLE, str(path), f"a readable file ({exc})") from None
    try:
        if path.suffix == ".toml":
            return receivers_from(tomllib.loads(data.decode("utf-8")))
        return decode_receivers(data)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        raise BadValueError(
            RECEIVERS_VARIABLE, str(path), f"a valid receivers file: {exc}"
        ) from None


def from_env(environ: Mapping[str, str]) -> AlertsConfig:
    """Build the service's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    service = service_config_from_env("alerts", "ALERTS", environ)
    env = stage_environment(environ)
    defaults = AlertsConfig(service=service)

    def seconds(name: str, default: timedelta | float, minimum: float) -> float:
        value = default.total_seconds() if isinstance(default, timedelta) else default
        return read_number(env, f"MIRROR_STAGE_ALERTS_{name}", value, minimum=minimum)

    receivers_file = env.get(RECEIVERS_VARIABLE)
    return AlertsConfig(
        service=service,
        receivers=load_receivers(Path(receivers_file)) if receivers_file else ReceiversConfig(),
        group_wait=timedelta(seconds=seconds("GROUP_WAIT_SECONDS", defaults.group_wait, 0)),
        repeat_interval=timedelta(
            seconds=seconds("REPEAT_INTERVAL_SECONDS", defaults.repeat_interval, 1)
        ),
        sweep_seconds=seconds("SWEEP_SECONDS", defaults.sweep_seconds, 0.05),
        snapshot_seconds=seconds("SNAPSHOT_SECONDS", defaults.snapshot_seconds, 0.1),
        max_replay=read_count(
            env, "MIRROR_STAGE_ALERTS_MAX_REPLAY", defaults.max_replay, minimum=0
        ),
    )
