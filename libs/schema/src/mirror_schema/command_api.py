"""The commands service's API messages: requests, records and results.

The same messages travel on NATS (``commands.request``, ``commands.api.*``, request/reply in the
queue group ``commands``, each result in a mirror_schema.api.Reply) and, as JSON bodies, on the
service's HTTP API; mirror_schema.command_operations declares each operation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

from mirror_schema.commands import CommandCancelReply, CommandId, CommandState
from mirror_schema.common import AwareDatetime
from mirror_schema.hosts import HostId

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_SEARCH_LENGTH",
    "CancelCommandRequest",
    "CancelOutcome",
    "CommandEvent",
    "CommandPage",
    "CommandRecord",
    "CreatedCommands",
    "DeleteHostLabelsRequest",
    "GetCommandRequest",
    "HostLabels",
    "KnownHost",
    "KnownHosts",
    "LabelTags",
    "ListCommandsRequest",
    "Rack",
    "RetryCommandRequest",
    "SetHostLabelsRequest",
    "SigningKeyReply",
]

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
MAX_SEARCH_LENGTH: Final = 200

Actor = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GetCommandRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.get``: one command with its event log."""

    id: CommandId


class ListCommandsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``commands.api.list`` and ``GET /api/commands``: a page of commands, newest first.

    ``hostname`` matches a host id or a hostname; ``status`` any of the states given;
    ``search`` a case-insensitive substring of the command text, its stdout or its stderr.
    """

    hostname: str | None = None
    status: list[CommandState] = []
    search: Annotated[str, msgspec.Meta(max_length=MAX_SEARCH_LENGTH)] | None = None
    batch_id: str | None = None
    page: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE


class CancelCommandRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.cancel``: stop a command that has not finished."""

    id: CommandId
    requested_by: Actor | None = None


class RetryCommandRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.retry``: run a finished command again, as a new command linked to it."""

    id: CommandId
    requested_by: Actor | None = None


class CommandEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a command's audit log: who did what, when, and the state it left."""

    at: AwareDatetime
    event: str  # created, dispatched, accepted, running, <final state>, cancel_requested,
    # cancel_answered (the agent's answer to the request, in `detail`), retried, ...
    status: CommandState  # the command's state after this event
    actor: str  # requested_by for people and automation; "agent:<host>" or "commands" else
    host_id: str
    detail: str | None = None


class CommandRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A command as the service stores it: request, state, outcome and (from get) its events."""

    id: CommandId
    host_id: str
    hostname: str
    command: str
    status: CommandState
    priority: int
    timeout_seconds: float
    created_at: AwareDatetime
    expires_at: AwareDatetime
    requested_by: str
    batch_id: str | None = None
    retry_of: str | None = None
    dispatched_at: AwareDatetime | None = None
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    error: str | None = None
    events: list[CommandEvent] = []


class CommandPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a list: ``total`` counts every match, not just this page."""

    items: list[CommandRecord]
    total: int
    page: int
    page_size: int


class CancelOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """The result of ``commands.api.cancel``.

    A pending command is ``cancelled`` at once (HTTP 200). For a dispatched or running one the
    agent was asked (``agent_reply`` is its answer, None if it did not answer) and the final
    ``cancelled`` state arrives with its result (HTTP 202).
    """

    command: CommandRecord
    agent_reply: CommandCancelReply | None = None


class CreatedCommands(msgspec.Struct, frozen=True, kw_only=True):
    """The result of ``commands.request`` and ``POST /api/commands``: one command per
    targeted host, and the batch they share when the request named several."""

    commands: list[CommandRecord]
    batch_id: str | None = None


class KnownHost(msgspec.Struct, frozen=True, kw_only=True):
    """A host commands can target (it has published, or an operator labelled it), as
    GET /api/commands/hosts shows it."""

    host_id: str
    hostname: str  # as its agent reports it (its host id until it has published)
    tags: dict[str, str]  # the operator's labels: what a selector matches
    rack: str | None
    reported_tags: dict[str, str]  # what its samples claim: shown, never used for targeting
    reported_rack: str | None
    last_seen: datetime | None  # when the bus stored its latest sample; None: never
    online: bool  # commands go out at once; else they wait, pending, for its next sample
    has_pending: bool


class KnownHosts(msgspec.Struct, frozen=True, kw_only=True):
    """The result of ``GET /api/commands/hosts``."""

    hosts: list[KnownHost]


class SigningKeyReply(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.signing_key`` and ``GET /api/commands/signing-key``: the public key
    agents check every dispatched command's signature with (mirror_schema.command_signing)."""

    algorithm: str
    public_key: str


# --- host labels: the operator's registry of tags and racks that selectors match --------------

MAX_LABEL_TAGS: Final = 64
MAX_LABEL_KEY_LENGTH: Final = 64
MAX_LABEL_VALUE_LENGTH: Final = 256
LabelTags = Annotated[
    dict[str, Annotated[str, msgspec.Meta(max_length=MAX_LABEL_VALUE_LENGTH)]],
    msgspec.Meta(max_length=MAX_LABEL_TAGS),
]
Rack = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class HostLabels(msgspec.Struct, frozen=True, kw_only=True):
    """What the operator says of one host: the tags and rack a ``Selector`` matches.

    Never what the host's own samples claim: an agent may claim anything of itself.
    """

    host_id: str
    tags: dict[str, str] = {}
    rack: str | None = None
    updated_at: AwareDatetime
    updated_by: str


class SetHostLabelsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``commands.api.labels.set`` and ``PUT /api/commands/hosts/{host_id}/labels`` (body
    without ``host_id``): the host's tags and rack, replacing what it had. Keys are 1 to 64
    characters."""

    host_id: HostId
    tags: LabelTags = {}
    rack: Rack | None = None


class DeleteHostLabelsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.labels.delete`` and ``DELETE /api/commands/hosts/{host_id}/labels``."""

    host_id: HostId
