"""The commands service's API operations, each declared once: both its doors (HTTP and NATS),
the twin's forwarding and docs/openapi.json are built from these (mirror_schema.api)."""

from __future__ import annotations

from typing import Final

from mirror_schema import subjects
from mirror_schema.api import Http, Items, NoRequest, Operation
from mirror_schema.command_api import (
    CancelCommandRequest,
    CancelOutcome,
    CommandPage,
    CommandRecord,
    CreatedCommands,
    DeleteHostLabelsRequest,
    GetCommandRequest,
    HostLabels,
    KnownHosts,
    ListCommandsRequest,
    RetryCommandRequest,
    SetHostLabelsRequest,
    SigningKeyReply,
)
from mirror_schema.commands import CommandRequest

__all__ = [
    "CANCEL",
    "CREATE",
    "GET",
    "HOSTS",
    "LABELS_DELETE",
    "LABELS_LIST",
    "LABELS_SET",
    "LIST",
    "OPERATIONS",
    "RETRY",
    "SIGNING_KEY",
    "cancel_status",
]

SERVICE: Final = "commands"


def cancel_status(outcome: CancelOutcome) -> int:
    """200: the command is cancelled now; 202: its agent was asked, its result will say."""
    return 200 if outcome.command.status == "cancelled" else 202


CREATE: Final = Operation(
    service=SERVICE,
    name="create",
    summary="Run a command on one host, a list of hosts or the hosts a selector matches",
    request=CommandRequest,
    result=CreatedCommands,
    subject=subjects.COMMANDS_REQUEST,
    http=Http(method="POST", path="/api/commands", status=201),
    errors=("invalid", "malformed"),
    actor="requested_by",
)
LIST: Final = Operation(
    service=SERVICE,
    name="list",
    summary="A page of commands, newest first, filtered by host, state, batch or text",
    request=ListCommandsRequest,
    result=CommandPage,
    subject=subjects.COMMANDS_API_LIST,
    http=Http(method="GET", path="/api/commands", query=True),
    errors=("invalid", "malformed"),
)
# Before GET /api/commands/{id}: "hosts" and "signing-key" would match the id pattern.
HOSTS: Final = Operation(
    service=SERVICE,
    name="hosts",
    summary="The hosts commands can target, with the operator's labels and whether online",
    request=NoRequest,
    result=KnownHosts,
    http=Http(method="GET", path="/api/commands/hosts"),
    errors=(),
)
SIGNING_KEY: Final = Operation(
    service=SERVICE,
    name="signing_key",
    summary="The public key agents check every dispatched command's signature with",
    request=NoRequest,
    result=SigningKeyReply,
    subject=subjects.COMMANDS_API_SIGNING_KEY,
    http=Http(method="GET", path="/api/commands/signing-key"),
    errors=(),
)
LABELS_SET: Final = Operation(
    service=SERVICE,
    name="labels_set",
    summary="Set a host's tags and rack (what selectors match), replacing what it had",
    request=SetHostLabelsRequest,
    result=HostLabels,
    subject=subjects.COMMANDS_API_LABELS_SET,
    http=Http(method="PUT", path="/api/commands/hosts/{host_id}/labels"),
    errors=("invalid", "malformed"),
)
LABELS_DELETE: Final = Operation(
    service=SERVICE,
    name="labels_delete",
    summary="Remove a host's labels; the labels it had",
    request=DeleteHostLabelsRequest,
    result=HostLabels,
    subject=subjects.COMMANDS_API_LABELS_DELETE,
    http=Http(method="DELETE", path="/api/commands/hosts/{host_id}/labels"),
    errors=("invalid", "malformed", "not_found"),
)
LABELS_LIST: Final = Operation(
    service=SERVICE,
    name="labels_list",
    summary="Every labelled host, by host id",
    request=NoRequest,
    result=Items[HostLabels],
    subject=subjects.COMMANDS_API_LABELS_LIST,
    errors=(),
)
GET: Final = Operation(
    service=SERVICE,
    name="get",
    summary="One command with its event log",
    request=GetCommandRequest,
    result=CommandRecord,
    subject=subjects.COMMANDS_API_GET,
    http=Http(method="GET", path="/api/commands/{id}"),
    errors=("invalid", "malformed", "not_found"),
)
CANCEL: Final = Operation(
    service=SERVICE,
    name="cancel",
    summary="Cancel a pending command now (200), or ask the agent of a running one (202)",
    request=CancelCommandRequest,
    result=CancelOutcome,
    subject=subjects.COMMANDS_API_CANCEL,
    http=Http(
        method="POST", path="/api/commands/{id}/cancel", status_of=cancel_status, also=(202,)
    ),
    errors=("invalid", "malformed", "not_found", "conflict"),
    actor="requested_by",
)
RETRY: Final = Operation(
    service=SERVICE,
    name="retry",
    summary="Run a finished command again, as a new command linked to it",
    request=RetryCommandRequest,
    result=CommandRecord,
    subject=subjects.COMMANDS_API_RETRY,
    http=Http(method="POST", path="/api/commands/{id}/retry", status=201),
    errors=("invalid", "malformed", "not_found", "conflict"),
    actor="requested_by",
)

# In the order their HTTP routes are matched.
OPERATIONS: Final = (
    CREATE,
    LIST,
    HOSTS,
    SIGNING_KEY,
    LABELS_SET,
    LABELS_DELETE,
    LABELS_LIST,
    GET,
    CANCEL,
    RETRY,
)
