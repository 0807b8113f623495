"""Command messages: the request, the dispatched command, its status, output and result."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Final, Literal

import msgspec

from mirror_schema.common import AwareDatetime, Bytes, Count
from mirror_schema.errors import InvalidCommandId
from mirror_schema.hosts import HostId

__all__ = [
    "COMMAND_ID_PATTERN",
    "COMMAND_MAX_LENGTH",
    "DEFAULT_OUTPUT_LIMIT_BYTES",
    "DEFAULT_PRIORITY",
    "DEFAULT_TIMEOUT_SECONDS",
    "FINAL_STATES",
    "Command",
    "CommandCancel",
    "CommandCancelReply",
    "CommandId",
    "CommandRequest",
    "CommandResult",
    "CommandState",
    "CommandStatus",
    "CommandWithdrawal",
    "InvalidCommandId",
    "OutputChunk",
    "Selector",
    "is_final",
    "validate_command_id",
]

COMMAND_MAX_LENGTH: Final = 8192
DEFAULT_TIMEOUT_SECONDS: Final = 30.0
DEFAULT_PRIORITY: Final = 5
DEFAULT_OUTPUT_LIMIT_BYTES: Final = 64 * 1024
# One NATS subject token (a command id appears in commands.output.<host>.<id>): a UUID or
# ULID fits. `(?!\n)$`: see HOST_ID_PATTERN.
COMMAND_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}(?!\n)$"
_COMMAND_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")

CommandId = Annotated[
    str,
    msgspec.Meta(pattern=COMMAND_ID_PATTERN, description="command id: a UUID/ULID-like token"),
]
CommandText = Annotated[str, msgspec.Meta(min_length=1, max_length=COMMAND_MAX_LENGTH)]
TimeoutSeconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Priority = Annotated[int, msgspec.Meta(ge=0, le=10, description="0 lowest, 10 highest")]


def validate_command_id(value: str) -> str:
    """Return ``value`` if it is a valid command id, else raise :class:`InvalidCommandId`."""
    if not isinstance(value, str) or _COMMAND_ID_RE.fullmatch(value) is None:
        raise InvalidCommandId(value, COMMAND_ID_PATTERN)
    return value


class CommandState(enum.StrEnum):
    """The life cycle of a command (docs/design/contracts.md#command-states)."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


FINAL_STATES: Final = frozenset(
    {
        CommandState.SUCCEEDED,
        CommandState.FAILED,
        CommandState.TIMED_OUT,
        CommandState.CANCELLED,
        CommandState.EXPIRED,
        CommandState.REJECTED,
    }
)


def is_final(state: CommandState | str) -> bool:
    """Return whether ``state`` ends a command's life (no further transition is allowed)."""
    return state in FINAL_STATES


class Selector(msgspec.Struct, frozen=True, kw_only=True):
    """Targets every host whose tags include all of ``tags`` and, if set, in ``rack``."""

    tags: dict[str, str] = {}
    rack: str | None = None


class CommandRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request to run a command (``commands.request``, ``POST /api/commands``).

    At least one of ``hostname``, ``targets`` or ``selector`` must be given.
    """

    command: CommandText
    hostname: str | None = None
    targets: list[str] | None = None  # hostnames or host ids
    selector: Selector | None = None
    timeout_seconds: TimeoutSeconds = DEFAULT_TIMEOUT_SECONDS
    priority: Priority = DEFAULT_PRIORITY
    expires_at: AwareDatetime | None = None
    requested_by: str | None = None

    def __post_init__(self) -> None:
        if self.hostname is None and not self.targets and self.selector is None:
            raise ValueError(
                "a command request needs a target: set `hostname`, `targets` or `selector`"
            )


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """A command for one host, published on ``commands.dispatch.<host>``."""

    id: CommandId
    host_id: HostId
    command: CommandText
    created_at: AwareDatetime
    timeout_seconds: TimeoutSeconds = DEFAULT_TIMEOUT_SECONDS
    priority: Priority = DEFAULT_PRIORITY
    expires_at: AwareDatetime | None = None
    batch_id: str | None = None  # shared by the commands of one multi-host request
    requested_by: str | None = None
    output_limit_bytes: Bytes = DEFAULT_OUTPUT_LIMIT_BYTES  # cap per stream
    # ed25519 by the commands service over the fields that decide what runs (command_signing).
    signature: str | None = None


class CommandStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A non-final progress report, published on ``commands.status.<host>``."""

    command_id: CommandId
    host_id: HostId
    status: Literal["accepted", "running"]
    timestamp: AwareDatetime
    pid: Count | None = None


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """The final outcome of a command, published once on ``commands.result.<host>``."""

    command_id: CommandId
    host_id: HostId
    state: CommandState
    finished_at: AwareDatetime
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    started_at: AwareDatetime | None = None  # None: it never started (expired, rejected)
    error: str | None = None  # why it did not run or was stopped, for people

    def __post_init__(self) -> None:
        if not is_final(self.state):
            raise ValueError(
                f"a command result needs a final state, got {str(self.state)!r}; "
                f"final states are {sorted(s.value for s in FINAL_STATES)}"
            )


class OutputChunk(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of live console output on ``commands.output.<host>.<command id>``."""

    command_id: CommandId
    host_id: HostId
    stream: Literal["stdout", "stderr"]
    seq: Count  # per command, both streams together, from 0
    data: str
    timestamp: AwareDatetime


class CommandCancel(msgspec.Struct, frozen=True, kw_only=True):
    """Stop a running command: the request on ``commands.cancel.<host>`` to its agent."""

    command_id: CommandId
    requested_by: str | None = None


class CommandCancelReply(msgspec.Struct, frozen=True, kw_only=True):
    """The agent's answer: whether it was running there and is being stopped."""

    command_id: CommandId
    cancelled: bool
    error: str | None = None  # why not, for people


class CommandWithdrawal(msgspec.Struct, frozen=True, kw_only=True):
    """A dispatched command the commands service took back before its agent took it, on
    ``commands.withdrawn.<host>.<command id>`` (stream COMMAND_WITHDRAWALS).

    Signed like a command (``mirror_schema.command_signing.sign_withdrawal``): the agent looks
    it up before running the command and, when it verifies, reports the command ``cancelled``
    without running it. The command's own message stays in COMMANDS (no identity but the
    launcher's may delete one), so the withdrawal is how it is stopped.
    """

    command_id: CommandId
    host_id: HostId
    withdrawn_at: AwareDatetime
    requested_by: str | None = None
    signature: str | None = None
