"""NATS subjects: the only place subject strings are built and taken apart."""

from __future__ import annotations

import re
from typing import Final

from mirror_schema.commands import validate_command_id
from mirror_schema.errors import InvalidSubject
from mirror_schema.hosts import validate_host_id
from mirror_schema.identities import inbox_prefix

__all__ = [
    "ALERTS_API_ACK",
    "ALERTS_API_ACTIVE",
    "ALERTS_API_GET",
    "ALERTS_API_LIST",
    "ALERTS_API_RECEIVERS_LIST",
    "ALERTS_API_RULES_CREATE",
    "ALERTS_API_RULES_DELETE",
    "ALERTS_API_RULES_GET",
    "ALERTS_API_RULES_LIST",
    "ALERTS_API_RULES_PREVIEW",
    "ALERTS_API_RULES_UPDATE",
    "ALERTS_API_SILENCES_CREATE",
    "ALERTS_API_SILENCES_EXPIRE",
    "ALERTS_API_SILENCES_LIST",
    "ALERTS_EVENTS_ALL",
    "ALERTS_QUEUE_GROUP",
    "AUTH_API_AUTHENTICATE",
    "AUTH_API_LOGIN",
    "AUTH_API_LOGOUT",
    "AUTH_API_PASSWORD",
    "AUTH_API_TOKENS_ADD",
    "AUTH_API_TOKENS_LIST",
    "AUTH_API_TOKENS_REVOKE",
    "AUTH_API_USERS_ADD",
    "AUTH_API_USERS_LIST",
    "AUTH_API_USERS_PASSWORD",
    "AUTH_API_USERS_REMOVE",
    "AUTH_API_USERS_ROLE",
    "AUTH_QUEUE_GROUP",
    "CANCEL_REPLIES",
    "COMMANDS_API_CANCEL",
    "COMMANDS_API_GET",
    "COMMANDS_API_LABELS_DELETE",
    "COMMANDS_API_LABELS_LIST",
    "COMMANDS_API_LABELS_SET",
    "COMMANDS_API_LIST",
    "COMMANDS_API_RETRY",
    "COMMANDS_API_SIGNING_KEY",
    "COMMANDS_DISPATCH_ALL",
    "COMMANDS_OUTPUT_ALL",
    "COMMANDS_QUEUE_GROUP",
    "COMMANDS_REQUEST",
    "COMMANDS_RESULT_ALL",
    "COMMANDS_STATUS_ALL",
    "COMMANDS_WITHDRAWN_ALL",
    "DEAD_LETTER_ALL",
    "METRICS_API_HISTORY",
    "METRICS_QUEUE_GROUP",
    "METRICS_RAW_ALL",
    "PER_HOST_PREFIXES",
    "alerts_events",
    "cancel_reply_prefix",
    "commands_cancel",
    "commands_dispatch",
    "commands_output",
    "commands_output_all",
    "commands_result",
    "commands_status",
    "commands_withdrawn",
    "commands_withdrawn_all",
    "dead_letter",
    "host_id_from_subject",
    "metrics_raw",
    "original_subject",
    "validate_subject",
]

_METRICS_RAW: Final = "metrics.raw"
_COMMANDS_DISPATCH: Final = "commands.dispatch"
_COMMANDS_RESULT: Final = "commands.result"
_COMMANDS_STATUS: Final = "commands.status"
_COMMANDS_OUTPUT: Final = "commands.output"
_COMMANDS_CANCEL: Final = "commands.cancel"
_ALERTS_EVENTS: Final = "alerts.events"
_DEAD_LETTER: Final = "deadletter"

METRICS_RAW_ALL: Final = f"{_METRICS_RAW}.>"
COMMANDS_DISPATCH_ALL: Final = f"{_COMMANDS_DISPATCH}.>"
COMMANDS_RESULT_ALL: Final = f"{_COMMANDS_RESULT}.>"
COMMANDS_STATUS_ALL: Final = f"{_COMMANDS_STATUS}.>"
COMMANDS_OUTPUT_ALL: Final = f"{_COMMANDS_OUTPUT}.>"
ALERTS_EVENTS_ALL: Final = f"{_ALERTS_EVENTS}.>"
DEAD_LETTER_ALL: Final = f"{_DEAD_LETTER}.>"

COMMANDS_REQUEST: Final = "commands.request"  # core NATS request/reply
# The commands service's other request/reply endpoints, beside commands.request.
COMMANDS_API_GET: Final = "commands.api.get"
COMMANDS_API_LIST: Final = "commands.api.list"
COMMANDS_API_CANCEL: Final = "commands.api.cancel"
COMMANDS_API_RETRY: Final = "commands.api.retry"
COMMANDS_API_SIGNING_KEY: Final = "commands.api.signing_key"
# The operator's host labels (tags, rack) that selectors match: mirror_schema.command_api.
COMMANDS_API_LABELS_SET: Final = "commands.api.labels.set"
COMMANDS_API_LABELS_DELETE: Final = "commands.api.labels.delete"
COMMANDS_API_LABELS_LIST: Final = "commands.api.labels.list"
COMMANDS_QUEUE_GROUP: Final = "commands"  # the commands service's replicas share requests
# The alerts service's request/reply endpoints (mirror_schema.alert_api), in its queue group.
ALERTS_API_ACTIVE: Final = "alerts.api.active"
ALERTS_API_LIST: Final = "alerts.api.list"
ALERTS_API_GET: Final = "alerts.api.get"
ALERTS_API_ACK: Final = "alerts.api.ack"
ALERTS_API_RULES_LIST: Final = "alerts.api.rules.list"
ALERTS_API_RULES_GET: Final = "alerts.api.rules.get"
ALERTS_API_RULES_CREATE: Final = "alerts.api.rules.create"
ALERTS_API_RULES_UPDATE: Final = "alerts.api.rules.update"
ALERTS_API_RULES_DELETE: Final = "alerts.api.rules.delete"
ALERTS_API_SILENCES_LIST: Final = "alerts.api.silences.list"
ALERTS_API_SILENCES_CREATE: Final = "alerts.api.silences.create"
ALERTS_API_SILENCES_EXPIRE: Final = "alerts.api.silences.expire"
# Answered by the evaluating replica alone: which hosts a rule, not saved, would fire for now.
ALERTS_API_RULES_PREVIEW: Final = "alerts.api.rules.preview"
ALERTS_API_RECEIVERS_LIST: Final = "alerts.api.receivers.list"
ALERTS_QUEUE_GROUP: Final = "alerts"  # the alerts service's replicas share requests

# The ingest's metric history (mirror_schema.history), in its queue group.
# An agent's request to join with a join token (core NATS request/reply, answered by the
# enroller): `agents.join.<token id>`, which only that token's holders may publish.
_AGENTS_JOIN: Final = "agents.join"
AGENTS_JOIN_ALL: Final = f"{_AGENTS_JOIN}.*"
ENROLLER_QUEUE_GROUP: Final = "enroller"

METRICS_API_HISTORY: Final = "metrics.api.history"
METRICS_QUEUE_GROUP: Final = "ingest"

# Operators' logins and API tokens, answered by every service that holds the database, for
# the ones that do not (the twin): mirror_schema.auth_api.
AUTH_API_LOGIN: Final = "auth.api.login"
AUTH_API_AUTHENTICATE: Final = "auth.api.authenticate"
AUTH_API_LOGOUT: Final = "auth.api.logout"
AUTH_API_PASSWORD: Final = "auth.api.password"  # noqa: S105 - a subject
# An admin's management of users and API tokens (mirror_schema.account_operations).
AUTH_API_USERS_LIST: Final = "auth.api.users.list"
AUTH_API_USERS_ADD: Final = "auth.api.users.add"
AUTH_API_USERS_ROLE: Final = "auth.api.users.role"
AUTH_API_USERS_PASSWORD: Final = "auth.api.users.password"  # noqa: S105 - a subject
AUTH_API_USERS_REMOVE: Final = "auth.api.users.remove"
AUTH_API_TOKENS_LIST: Final = "auth.api.tokens.list"
AUTH_API_TOKENS_ADD: Final = "auth.api.tokens.add"
AUTH_API_TOKENS_REVOKE: Final = "auth.api.tokens.revoke"
AUTH_QUEUE_GROUP: Final = "auth"


# The commands service's cancel requests to agents are answered under here, a part of its own
# inbox with the host named, so that an agent may answer its own host's and nothing else.
CANCEL_REPLIES: Final = f"{inbox_prefix('commands')}.cancel"


def cancel_reply_prefix(host_id: str) -> str:
    """``_SERVICE.commands.cancel.<host>``: where the agent of `host_id` answers a cancel."""
    return f"{CANCEL_REPLIES}.{validate_host_id(host_id)}"


# Subjects whose last token is a host id (commands.output has the command id after it).
PER_HOST_PREFIXES: Final = (
    _METRICS_RAW,
    _COMMANDS_DISPATCH,
    _COMMANDS_RESULT,
    _COMMANDS_STATUS,
    _COMMANDS_CANCEL,
    _ALERTS_EVENTS,
)

# One token of a concrete subject: printable ASCII (0x21-0x7e) except `*` (0x2a), `.` (0x2e)
# and `>` (0x3e); no spaces, no control characters.
_TOKEN_RE: Final = re.compile(r"[\x21-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]+")


def validate_subject(subject: str) -> str:
    """Return ``subject`` if it is a concrete subject (no wildcard, no empty token), else raise."""
    tokens = subject.split(".")
    if not all(_TOKEN_RE.fullmatch(token) for token in tokens):
        raise InvalidSubject(
            subject,
            "a concrete subject is dot-separated non-empty tokens of printable ASCII, "
            "without spaces or the wildcards '*' and '>'",
        )
    return subject


def agents_join(token_id: str) -> str:
    """``agents.join.<token id>``: a join request made with join token `token_id`."""
    return f"{_AGENTS_JOIN}.{validate_host_id(token_id)}"


def token_of_join(subject: str) -> str:
    """The join token id a join request's subject names (the server vouches for it)."""
    prefix, _, token_id = subject.rpartition(".")
    if prefix != _AGENTS_JOIN:
        raise InvalidSubject(subject, f"a join request's subject is {_AGENTS_JOIN}.<token id>")
    return validate_host_id(token_id)


def metrics_raw(host_id: str) -> str:
    """``metrics.raw.<host>``: a host's MetricSamples (stream METRICS)."""
    return f"{_METRICS_RAW}.{validate_host_id(host_id)}"


def commands_dispatch(host_id: str) -> str:
    """``commands.dispatch.<host>``: Commands for a host (stream COMMANDS)."""
    return f"{_COMMANDS_DISPATCH}.{validate_host_id(host_id)}"


def commands_result(host_id: str) -> str:
    """``commands.result.<host>``: a host's final CommandResults (stream COMMAND_RESULTS)."""
    return f"{_COMMANDS_RESULT}.{validate_host_id(host_id)}"


def commands_status(host_id: str) -> str:
    """``commands.status.<host>``: a host's CommandStatus reports (stream COMMAND_RESULTS)."""
    return f"{_COMMANDS_STATUS}.{validate_host_id(host_id)}"


def commands_output(host_id: str, command_id: str) -> str:
    """``commands.output.<host>.<command id>``: live OutputChunks (core NATS, not stored)."""
    return f"{_COMMANDS_OUTPUT}.{validate_host_id(host_id)}.{validate_command_id(command_id)}"


def commands_output_all(host_id: str) -> str:
    """``commands.output.<host>.>``: the live output of every command of one host."""
    return f"{_COMMANDS_OUTPUT}.{validate_host_id(host_id)}.>"


def commands_cancel(host_id: str) -> str:
    """``commands.cancel.<host>``: stop a running command (core NATS request/reply to the agent)."""
    return f"{_COMMANDS_CANCEL}.{validate_host_id(host_id)}"


def alerts_events(host_id: str) -> str:
    """``alerts.events.<host>``: AlertEvents about a host (stream ALERTS)."""
    return f"{_ALERTS_EVENTS}.{validate_host_id(host_id)}"


def dead_letter(original_subject: str) -> str:
    """``deadletter.<original subject>``: where a message that can never be processed goes."""
    return f"{_DEAD_LETTER}.{validate_subject(original_subject)}"


def original_subject(dead_letter_subject: str) -> str:
    """Return the subject a ``deadletter.<subject>`` message was first published on."""
    prefix = f"{_DEAD_LETTER}."
    if not dead_letter_subject.startswith(prefix):
        raise InvalidSubject(dead_letter_subject, f"a dead-letter subject starts with {prefix!r}")
    return validate_subject(dead_letter_subject.removeprefix(prefix))


def host_id_from_subject(subject: str, *, prefix: str = "") -> str:
    """Return the host id in a per-host subject (``metrics.raw.<host>``, ``commands.*.<host>``...).

    ``prefix`` is stripped first; it is the ``subject_prefix`` tests give ``ensure_streams``.
    Raises :class:`InvalidSubject` for a subject that carries no host id, and
    :class:`InvalidHostId` when the host token is not a valid host id.
    """
    rest = subject
    if prefix:
        head = prefix.rstrip(".") + "."
        if not subject.startswith(head):
            raise InvalidSubject(subject, f"expected it to start with the prefix {head!r}")
        rest = subject.removeprefix(head)
    tokens = rest.split(".")
    if len(tokens) == 3 and f"{tokens[0]}.{tokens[1]}" in PER_HOST_PREFIXES:
        return validate_host_id(tokens[2])
    if len(tokens) == 4 and f"{tokens[0]}.{tokens[1]}" == _COMMANDS_OUTPUT:
        return validate_host_id(tokens[2])
    raise InvalidSubject(
        subject,
        "not a per-host subject; expected one of "
        + ", ".join(f"{p}.<host>" for p in PER_HOST_PREFIXES)
        + f", {_COMMANDS_OUTPUT}.<host>.<command id>",
    )


_COMMANDS_WITHDRAWN: Final = "commands.withdrawn"
COMMANDS_WITHDRAWN_ALL: Final = f"{_COMMANDS_WITHDRAWN}.>"


def commands_withdrawn(host_id: str, command_id: str) -> str:
    """``commands.withdrawn.<host>.<command id>``: a signed CommandWithdrawal of a dispatched
    command (stream COMMAND_WITHDRAWALS), which the agent looks up before running it."""
    return f"{_COMMANDS_WITHDRAWN}.{validate_host_id(host_id)}.{validate_command_id(command_id)}"


def commands_withdrawn_all(host_id: str) -> str:
    """``commands.withdrawn.<host>.*``: every withdrawal of one host's commands."""
    return f"{_COMMANDS_WITHDRAWN}.{validate_host_id(host_id)}.*"
