"""CommandsConfig: the commands service's limits and pace, read once from the environment."""

from collections.abc import Mapping

import msgspec

from mirror_runtime.config import ServiceConfig, service_config_from_env
from mirror_runtime.environment import BadValueError, read_number, stage_environment
from mirror_schema.command_signing import MAX_VALIDITY_SECONDS


class CommandsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the commands service reads at start-up."""

    service: ServiceConfig
    # A request asking for more is refused, naming the limit (not silently shortened).
    # At most MAX_VALIDITY_SECONDS (24 h), as the two below.
    max_timeout_seconds: float = 3600.0
    # expires_at when a request leaves it out: a command waits this long for its agent.
    expiry_seconds: float = 3600.0
    # A host whose last sample is younger than this is online: its commands go out at once.
    online_seconds: float = 60.0
    # How often pending commands past expires_at are expired (and the pending hosts re-read).
    sweep_seconds: float = 5.0
    # How long a cancel waits for the agent's answer on commands.cancel.<host>.
    cancel_timeout_seconds: float = 3.0


def from_env(environ: Mapping[str, str]) -> CommandsConfig:
    """Build the service's config; an unknown MIRROR_STAGE_* variable or a bad value raises."""
    # More connections than the default: a fan-out dispatches 8 hosts at a time and results
    # of different commands are applied side by side, with requests still answered meanwhile.
    service = msgspec.structs.replace(
        service_config_from_env("commands", "COMMANDS", environ), db_pool_size=16
    )
    env = stage_environment(environ)
    defaults = CommandsConfig(service=service)

    def number(name: str, default: float, minimum: float) -> float:
        return read_number(env, f"MIRROR_STAGE_COMMANDS_{name}", default, minimum=minimum)

    def within_a_day(name: str, default: float) -> float:
        # A signed command is valid 24 h at most: its wait and its run are capped alike.
        value = number(name, default, 1)
        if value > MAX_VALIDITY_SECONDS:
            variable = f"MIRROR_STAGE_COMMANDS_{name}"
            raise BadValueError(
                variable,
                env[variable],
                f"a number from 1 to {MAX_VALIDITY_SECONDS} (24 h: a signed command is valid "
                "no longer)",
            )
        return value

    return CommandsConfig(
        service=service,
        max_timeout_seconds=within_a_day("MAX_TIMEOUT_SECONDS", defaults.max_timeout_seconds),
        expiry_seconds=within_a_day("EXPIRY_SECONDS", defaults.expiry_seconds),
        online_seconds=number("ONLINE_SECONDS", defaults.online_seconds, 1),
        sweep_seconds=number("SWEEP_SECONDS", defaults.sweep_seconds, 0.1),
        cancel_timeout_seconds=number(
            "CANCEL_TIMEOUT_SECONDS", defaults.cancel_timeout_seconds, 0.1
        ),
    )
