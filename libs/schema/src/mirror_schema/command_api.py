"""The commands service's API messages: get/list/cancel/retry requests, records and replies.

The same messages travel on NATS (``commands.api.get|list|cancel|retry``, request/reply in the
queue group ``commands``) and, as JSON bodies, on the service's HTTP API. Creation keeps its
own pair, :class:`~mirror_schema.commands.CommandRequest` and ``CommandReply``.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from mirror_schema.commands import CommandCancelReply, CommandId, CommandState
from mirror_schema.common import AwareDatetime
from mirror_schema.hosts import HostId

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_SEARCH_LENGTH",
    "CancelCommandReply",
    "CancelCommandRequest",
    "CommandEvent",
    "CommandPage",
    "CommandPageReply",
    "CommandRecord",
    "CommandRecordReply",
    "DeleteHostLabelsRequest",
    "ErrorCode",
    "GetCommandRequest",
    "HostLabels",
    "HostLabelsListReply",
    "HostLabelsReply",
    "ListCommandsRequest",
    "RetryCommandRequest",
    "SetHostLabelsRequest",
    "SigningKeyReply",
    "decode_cancel_command_reply",
    "decode_cancel_command_request",
    "decode_command_page_reply",
    "decode_command_record_reply",
    "decode_delete_host_labels_request",
    "decode_get_command_request",
    "decode_host_labels_list_reply",
    "decode_host_labels_reply",
    "decode_list_commands_request",
    "decode_retry_command_request",
    "decode_set_host_labels_request",
    "decode_signing_key_reply",
]

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
MAX_SEARCH_LENGTH: Final = 200

# What went wrong, for programs; `error` says it for people and names the field.
# unauthorized/forbidden/locked: the auth endpoints (mirror_schema.auth_api).
ErrorCode = Literal[
    "invalid",
    "not_found",
    "conflict",
    "unavailable",
    "internal",
    "unauthorized",
    "forbidden",
    "locked",
]
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
    event: str  # created, dispatched, accepted, running, <final state>, cancel_requested, ...
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


class CommandRecordReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``commands.api.get`` and ``commands.api.retry`` (the new command)."""

    command: CommandRecord | None = None
    error: str | None = None
    code: ErrorCode | None = None


class CommandPageReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``commands.api.list``."""

    page: CommandPage | None = None
    error: str | None = None
    code: ErrorCode | None = None


class CancelCommandReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``commands.api.cancel``.

    A pending command is ``cancelled`` at once. For a dispatched or running one the agent was
    asked (``agent_reply`` is its answer, None if it did not answer) and the final
    ``cancelled`` state arrives with its result.
    """

    command: CommandRecord | None = None
    agent_reply: CommandCancelReply | None = None
    error: str | None = None
    code: ErrorCode | None = None


class SigningKeyReply(msgspec.Struct, frozen=True, kw_only=True):
    """``commands.api.signing_key`` and ``GET /api/commands/signing-key``: the public key
    agents check every dispatched command's signature with (mirror_schema.command_signing)."""

    algorithm: str
    public_key: str


decode_get_command_request = msgspec.json.Decoder(GetCommandRequest).decode
decode_list_commands_request = msgspec.json.Decoder(ListCommandsRequest).decode
decode_cancel_command_request = msgspec.json.Decoder(CancelCommandRequest).decode
decode_retry_command_request = msgspec.json.Decoder(RetryCommandRequest).decode
decode_command_record_reply = msgspec.json.Decoder(CommandRecordReply).decode
decode_command_page_reply = msgspec.json.Decoder(CommandPageReply).decode
decode_signing_key_reply = msgspec.json.Decoder(SigningKeyReply).decode
decode_cancel_command_reply = msgspec.json.Decoder(CancelCommandReply).decode


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


class HostLabelsReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``commands.api.labels.set`` and ``.delete``: the labels set (or removed)."""

    labels: HostLabels | None = None
    error: str | None = None
    code: ErrorCode | None = None


class HostLabelsListReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``commands.api.labels.list``: every labelled host, by host id."""

    labels: list[HostLabels] = []
    error: str | None = None
    code: ErrorCode | None = None


decode_set_host_labels_request = msgspec.json.Decoder(SetHostLabelsRequest).decode
decode_delete_host_labels_request = msgspec.json.Decoder(DeleteHostLabelsRequest).decode
decode_host_labels_reply = msgspec.json.Decoder(HostLabelsReply).decode
decode_host_labels_list_reply = msgspec.json.Decoder(HostLabelsListReply).decode
