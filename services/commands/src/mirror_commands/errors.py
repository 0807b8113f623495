"""The commands service's errors: each carries what the HTTP and NATS doors tell the caller."""

from mirror_runtime.doors import ApiError
from mirror_schema.api import ErrorCode


class CommandsError(ApiError):
    """Base class: a request the service cannot carry out, with a detail naming the field."""


class InvalidRequestError(CommandsError):
    """A request that breaks the contract or names nothing known (a field, a host)."""

    code: ErrorCode = "invalid"


class UnknownCommandError(CommandsError):
    """No command has this id."""

    code: ErrorCode = "not_found"

    def __init__(self, command_id: str) -> None:
        self.command_id = command_id
        super().__init__(
            f"id: no command {command_id!r}; GET /api/commands lists the commands there are"
        )


class ConflictError(CommandsError):
    """The command's state does not allow the operation (cancel a finished command...)."""

    code: ErrorCode = "conflict"


class UnknownLabelsError(CommandsError):
    """The operator has set no labels on this host."""

    code: ErrorCode = "not_found"

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        super().__init__(
            f"host_id: no labels on host {host_id!r}; GET /api/commands/hosts shows the labels"
        )
