"""CommandsConfig: the commands service's limits and pace, declared once and read once from the
environment."""

from collections.abc import Mapping

import msgspec

from mirror_runtime import parsers
from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import BadValueError, stage_environment
from mirror_runtime.setting import Parser, Setting, SettingGroup
from mirror_schema.command_signing import MAX_VALIDITY_SECONDS


def _within_a_day() -> Parser[float]:
    """At least one second, and at most MAX_VALIDITY_SECONDS: a signed command is valid 24 h at
    most, so its wait and its run are capped alike."""
    at_least_one = parsers.number(minimum=1)
    expected = f"a number from 1 to {MAX_VALIDITY_SECONDS}"

    def convert(variable: str, raw: str) -> float:
        value = at_least_one.convert(variable, raw)
        if value > MAX_VALIDITY_SECONDS:
            raise BadValueError(
                variable, raw, f"{expected} (24 h: a signed command is valid no longer)"
            )
        return value

    return Parser(convert, expected)


MAX_TIMEOUT_SECONDS = Setting(
    variable="MIRROR_STAGE_COMMANDS_MAX_TIMEOUT_SECONDS",
    default=3600.0,
    parser=_within_a_day(),
    meaning="longest `timeout_seconds` a command may ask for",
)
EXPIRY_SECONDS = Setting(
    variable="MIRROR_STAGE_COMMANDS_EXPIRY_SECONDS",
    default=3600.0,
    parser=_within_a_day(),
    meaning="a command not taken by its agent within this is `expired` (when the request gives "
    "no `expires_at`)",
)
ONLINE_SECONDS = Setting(
    variable="MIRROR_STAGE_COMMANDS_ONLINE_SECONDS",
    default=60.0,
    parser=parsers.number(minimum=1),
    meaning="a host heard from within this is online: its commands are dispatched at once",
)
SWEEP_SECONDS = Setting(
    variable="MIRROR_STAGE_COMMANDS_SWEEP_SECONDS",
    default=5.0,
    parser=parsers.number(minimum=0.1),
    meaning="how often pending commands are expired and re-read",
)
CANCEL_TIMEOUT_SECONDS = Setting(
    variable="MIRROR_STAGE_COMMANDS_CANCEL_TIMEOUT_SECONDS",
    default=3.0,
    parser=parsers.number(minimum=0.1),
    meaning="how long a cancel waits for the agent's answer",
)

SETTINGS = SettingGroup(
    title="The commands service",
    order=4,
    settings=(
        MAX_TIMEOUT_SECONDS,
        EXPIRY_SECONDS,
        ONLINE_SECONDS,
        SWEEP_SECONDS,
        CANCEL_TIMEOUT_SECONDS,
    ),
)


class CommandsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the commands service reads at start-up."""

    service: ServiceConfig
    # A request asking for more is refused, naming the limit (not silently shortened).
    # At most MAX_VALIDITY_SECONDS (24 h), as the two below.
    max_timeout_seconds: float = MAX_TIMEOUT_SECONDS.default
    # expires_at when a request leaves it out: a command waits this long for its agent.
    expiry_seconds: float = EXPIRY_SECONDS.default
    # A host whose last sample is younger than this is online: its commands go out at once.
    online_seconds: float = ONLINE_SECONDS.default
    # How often pending commands past expires_at are expired (and the pending hosts re-read).
    sweep_seconds: float = SWEEP_SECONDS.default
    # How long a cancel waits for the agent's answer on commands.cancel.<host>.
    cancel_timeout_seconds: float = CANCEL_TIMEOUT_SECONDS.default


def from_env(environ: Mapping[str, str]) -> CommandsConfig:
    """Build the service's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    # More connections than the default: a fan-out dispatches 8 hosts at a time and results
    # of different commands are applied side by side, with requests still answered meanwhile.
    service = msgspec.structs.replace(
        service_config_from_env("commands", "COMMANDS", environ), db_pool_size=16
    )
    env = stage_environment(environ)
    return CommandsConfig(
        service=service,
        max_timeout_seconds=MAX_TIMEOUT_SECONDS.read(env),
        expiry_seconds=EXPIRY_SECONDS.read(env),
        online_seconds=ONLINE_SECONDS.read(env),
        sweep_seconds=SWEEP_SECONDS.read(env),
        cancel_timeout_seconds=CANCEL_TIMEOUT_SECONDS.read(env),
    )
