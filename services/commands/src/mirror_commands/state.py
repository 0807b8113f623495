"""The command life cycle as pure rules: which transitions apply, dispatch order, expiry."""

from datetime import datetime, timedelta
from typing import Final, Literal

from mirror_commands.errors import ConflictError, InvalidRequestError
from mirror_schema.command_api import CommandRecord
from mirror_schema.command_signing import MAX_VALIDITY_SECONDS
from mirror_schema.commands import FINAL_STATES, Command, CommandState, is_final

# Forward only: a transition must raise the rank; every final state shares the top rank, so
# a final command never moves again (a late `running` after the result changes nothing).
_RANK: Final = {
    CommandState.PENDING: 0,
    CommandState.DISPATCHED: 1,
    CommandState.RUNNING: 2,
    **{state: 3 for state in FINAL_STATES},
}
ALL_STATES: Final = tuple(CommandState)


def can_move(current: CommandState, target: CommandState) -> bool:
    """Whether a command in `current` may move to `target` (forward only, never off a final)."""
    return not is_final(current) and _RANK[target] > _RANK[current]


def sources(target: CommandState) -> list[str]:
    """Every state a command may move to `target` from (the WHERE of a conditional UPDATE)."""
    return [state.value for state in ALL_STATES if can_move(state, target)]


CancelPath = Literal["now", "agent"]


def cancel_path(current: CommandState, command_id: str) -> CancelPath:
    """How a cancel proceeds: a pending command ends now; a dispatched or running one asks its
    agent; a final one cannot be cancelled (ConflictError)."""
    if current is CommandState.PENDING:
        return "now"
    if current in (CommandState.DISPATCHED, CommandState.RUNNING):
        return "agent"
    raise ConflictError(
        f"id: command {command_id!r} is already {current.value}; only a pending, dispatched "
        "or running command can be cancelled"
    )


def check_retryable(current: CommandState, command_id: str) -> None:
    """A retry runs a finished command again; one still under way would then run twice."""
    if not is_final(current):
        raise ConflictError(
            f"id: command {command_id!r} is still {current.value}; retry a command once it "
            "has finished, or cancel it first"
        )


def check_timeout(timeout_seconds: float, maximum: float) -> float:
    """`timeout_seconds` if within the configured maximum, else an error naming both."""
    if timeout_seconds > maximum:
        raise InvalidRequestError(
            f"timeout_seconds: {timeout_seconds:g} is over this service's limit of "
            f"{maximum:g} s (MIRROR_STAGE_COMMANDS_MAX_TIMEOUT_SECONDS)"
        )
    return timeout_seconds


def expiry(requested: datetime | None, now: datetime, default_seconds: float) -> datetime:
    """When a command stops waiting for its agent: as requested (in the future, at most
    MAX_VALIDITY_SECONDS ahead: a signed command is valid no longer), else now plus the
    default."""
    if requested is None:
        return now + timedelta(seconds=default_seconds)
    if requested <= now:
        raise InvalidRequestError(
            f"expires_at: {requested.isoformat()} is not in the future (now is "
            f"{now.isoformat()}); leave it out for {default_seconds:g} s from now"
        )
    if requested > now + timedelta(seconds=MAX_VALIDITY_SECONDS):
        raise InvalidRequestError(
            f"expires_at: {requested.isoformat()} is more than {MAX_VALIDITY_SECONDS} s (24 h) "
            f"after now ({now.isoformat()}): a signed command is valid 24 h at most, and agents "
            "refuse a longer one"
        )
    return requested


def as_command(record: CommandRecord) -> Command:
    """The message dispatched to the agent for a stored command."""
    return Command(
        id=record.id,
        host_id=record.host_id,
        command=record.command,
        created_at=record.created_at,
        timeout_seconds=record.timeout_seconds,
        priority=record.priority,
        expires_at=record.expires_at,
        batch_id=record.batch_id,
        requested_by=record.requested_by,
    )
