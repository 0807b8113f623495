"""NATS identities (NKeys) and what each may publish and subscribe to, as nats-server config.

The stack's identities (admin, services, scripts, simulator) share the account STAGE, which
holds the streams. Each enrolled agent is alone in an account of its own, AGENT_<host>: there
the server caps its connections, subscriptions and payload, and nothing of STAGE exists but
what STAGE exports to that account alone: its own host's sample, command status, result,
output and dead-letter subjects, and the JetStream API calls of its own consumer on COMMANDS
(filtered, by the subject itself, to its own host) and its own withdrawals, imported under
mirror_schema.identities.AGENT_JETSTREAM_PREFIX. STAGE imports its cancel subject back. Within
its account the agent's permissions allow just those subjects; everything else is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import nkeys

from mirror_agent.commands.loop import consumer_name
from mirror_agent.nats_auth import SIMULATOR_INBOX
from mirror_schema import identities, streams, subjects
from mirror_stage.natsd import MAX_PAYLOAD_BYTES

__all__ = [
    "AGENT_MAX_CONNECTIONS",
    "STAGE_ACCOUNT",
    "Identity",
    "Permissions",
    "accounts_block",
    "admin_permissions",
    "agent_account",
    "agent_inbox_prefix",
    "agent_permissions",
    "automation_inbox_prefix",
    "automation_permissions",
    "new_identity",
    "service_permissions",
    "simulator_permissions",
]

_JS_API: Final = "$JS.API"
STAGE_ACCOUNT: Final = "STAGE"  # the streams, the services, the admin, scripts, the simulator
# Per agent (nats-server counts them per account): its connection, `mirror-agent --check`
# beside it, and a reconnect while the server still holds a half-dead old connection.
AGENT_MAX_CONNECTIONS: Final = 4
AGENT_MAX_SUBSCRIPTIONS: Final = 64  # it holds five: inboxes, cancel, its pull


class Permissions(msgspec.Struct, frozen=True, kw_only=True):
    """Subjects a user may publish and subscribe to (allow lists; all else is denied).

    No identity gets nats-server's `allow_responses`: it lets a responder publish to whatever
    reply subject a requester chose, even one its own deny list forbids (a stream's delete
    API, say). Replies go only to inboxes, each identity's own (mirror_schema.identities).
    """

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    # Refused even where `publish` allows them.
    deny_publish: tuple[str, ...] = ()
    # The host whose account of its own the user is in (an agent's); None: STAGE.
    own_account: str | None = None


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """One NKey user: its seed (secret: the credentials file's content) and public key."""

    name: str
    seed: str
    public_key: str


def new_identity(name: str) -> Identity:
    """A fresh NKey user for `name`."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public_key = nkeys.from_seed(bytearray(seed)).public_key.decode("ascii")
    return Identity(name=name, seed=seed.decode("ascii"), public_key=public_key)


def agent_inbox_prefix(host_id: str) -> str:
    """The inbox prefix an agent connects with: its replies come to subjects under it alone."""
    return identities.inbox_prefix(identities.agent_identity(host_id))


def agent_account(host_id: str) -> str:
    """The account the agent of `host_id` is alone in."""
    return f"AGENT_{host_id}"


class _Import(msgspec.Struct, frozen=True):
    """A subject STAGE exports to one agent's account, and what the agent publishes for it."""

    subject: str  # in STAGE
    local: str  # in the agent's account
    streamed: bool = False  # answered with several messages (a pull)


def _agent_imports(host_id: str) -> tuple[_Import, ...]:
    """What the agent of `host_id` reaches of STAGE: its own host's subjects and its own
    consumer's and withdrawals' JetStream calls (under AGENT_JETSTREAM_PREFIX)."""
    commands = streams.COMMANDS.name
    consumer = consumer_name(host_id)
    dispatch = subjects.commands_dispatch(host_id)

    def api(call: str, *, streamed: bool = False) -> _Import:
        local = f"{identities.AGENT_JETSTREAM_PREFIX}.{call}"
        return _Import(f"{_JS_API}.{call}", local, streamed)

    same = (
        subjects.metrics_raw(host_id),
        subjects.commands_status(host_id),
        subjects.commands_result(host_id),
        subjects.commands_output_all(host_id),
        subjects.dead_letter(dispatch),
        f"$JS.ACK.{commands}.{consumer}.>",
    )
    return (
        *(_Import(subject, subject) for subject in same),
        # Its consumer: created only with its own host's filter (the filter is part of the
        # subject, and the server checks it against the request), read, pulled.
        api(f"CONSUMER.CREATE.{commands}.{consumer}.{dispatch}"),
        api(f"CONSUMER.INFO.{commands}.{consumer}"),
        api(f"CONSUMER.MSG.NEXT.{commands}.{consumer}", streamed=True),
        # Whether a command it took was withdrawn: a direct get of its own host's subject.
        api(
            f"DIRECT.GET.{streams.COMMAND_WITHDRAWALS.name}."
            f"{subjects.commands_withdrawn_all(host_id)}"
        ),
        api("STREAM.NAMES"),  # which stream holds a subject (`mirror-agent check`)
    )


def agent_permissions(host_id: str) -> Permissions:
    """What the agent of `host_id` may do in its own account, and nothing more."""
    return Permissions(
        publish=(
            *(entry.local for entry in _agent_imports(host_id)),
            # Answered by the server in an account without JetStream: how the agent learns
            # it is in one (mirror_agent.jetstream).
            f"{_JS_API}.INFO",
            # Its answers to the cancel requests STAGE imports from it: the server names
            # those reply subjects, and routes them back to the asker alone.
            "_R_.>",
        ),
        subscribe=(f"{agent_inbox_prefix(host_id)}.>", subjects.commands_cancel(host_id)),
        own_account=host_id,
    )


def automation_inbox_prefix(name: str) -> str:
    """The inbox prefix an automation user connects with (apart from every agent's)."""
    return identities.inbox_prefix(identities.automation_identity(name))


def _requests(caller: str, endpoints: Sequence[str]) -> tuple[str, ...]:
    """The request subjects of `endpoints` that name `caller`: only it may send them."""
    return tuple(identities.request_subject(endpoint, caller) for endpoint in endpoints)


# A script's: the commands and alerts services' request endpoints.
_AUTOMATION_REQUESTS: Final = (
    subjects.COMMANDS_REQUEST,
    subjects.COMMANDS_API_GET,
    subjects.COMMANDS_API_LIST,
    subjects.COMMANDS_API_CANCEL,
    subjects.COMMANDS_API_RETRY,
    subjects.COMMANDS_API_SIGNING_KEY,
    subjects.COMMANDS_API_LABELS_SET,
    subjects.COMMANDS_API_LABELS_DELETE,
    subjects.COMMANDS_API_LABELS_LIST,
    subjects.ALERTS_API_ACTIVE,
    subjects.ALERTS_API_LIST,
    subjects.ALERTS_API_GET,
    subjects.ALERTS_API_ACK,
    subjects.ALERTS_API_RULES_LIST,
    subjects.ALERTS_API_RULES_GET,
    subjects.ALERTS_API_RULES_CREATE,
    subjects.ALERTS_API_RULES_UPDATE,
    subjects.ALERTS_API_RULES_DELETE,
    subjects.ALERTS_API_SILENCES_LIST,
    subjects.ALERTS_API_SILENCES_CREATE,
    subjects.ALERTS_API_SILENCES_EXPIRE,
)


def automation_permissions(name: str) -> Permissions:
    """A script's: the services' request endpoints (commands, alerts), in its own name, and its
    own replies."""
    return Permissions(
        publish=_requests(identities.automation_identity(name), _AUTOMATION_REQUESTS),
        subscribe=(f"{automation_inbox_prefix(name)}.>",),
    )


def simulator_permissions() -> Permissions:
    """The fleet simulator's: samples of any host, and its own replies."""
    return Permissions(
        publish=(subjects.METRICS_RAW_ALL, f"{_JS_API}.INFO"),
        subscribe=(f"{SIMULATOR_INBOX}.>",),
    )


# Each service's JetStream API grant is the calls it makes, nothing of $JS.API.> beyond: it
# reads and (when no launcher did) creates the streams, but never changes, purges or deletes
# one; it creates, reads and acknowledges its own named consumers; the twin its own buckets.
_STREAM_NAMES: Final = tuple(spec.name for spec in streams.STREAMS)
_DENIED: Final = (
    f"{_JS_API}.STREAM.DELETE.>",
    f"{_JS_API}.STREAM.PURGE.>",
    f"{_JS_API}.STREAM.UPDATE.>",
    f"{_JS_API}.STREAM.MSG.DELETE.>",
    f"{_JS_API}.CONSUMER.DELETE.>",
)


def _streams_read() -> tuple[str, ...]:
    return (
        f"{_JS_API}.INFO",
        f"{_JS_API}.STREAM.NAMES",
        *(f"{_JS_API}.STREAM.INFO.{name}" for name in _STREAM_NAMES),
        *(f"{_JS_API}.STREAM.CREATE.{name}" for name in _STREAM_NAMES),
    )


def _ordered(stream: str) -> tuple[str, ...]:
    """An ordered consumer (ephemeral, unnamed, its deliveries to the caller's own inbox)."""
    return (
        f"{_JS_API}.CONSUMER.CREATE.{stream}",
        f"{_JS_API}.CONSUMER.INFO.{stream}.*",  # read-only: nats-py checks what it made
        "$JS.FC.>",
    )


def _durable(stream: str, name: str) -> tuple[str, ...]:
    """A named durable consumer: created (however nats-py spells it), read, pulled, acked."""
    return (
        f"{_JS_API}.CONSUMER.CREATE.{stream}.{name}",
        f"{_JS_API}.CONSUMER.CREATE.{stream}.{name}.>",
        f"{_JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
        f"{_JS_API}.CONSUMER.INFO.{stream}.{name}",
        f"{_JS_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
        f"$JS.ACK.{stream}.{name}.>",
    )


def _bucket(bucket: str) -> tuple[str, ...]:
    """A key-value bucket: made when missing, read, written, watched."""
    stream = f"KV_{bucket}"
    return (
        f"{_JS_API}.STREAM.INFO.{stream}",
        f"{_JS_API}.STREAM.CREATE.{stream}",
        f"{_JS_API}.STREAM.MSG.GET.{stream}",
        f"{_JS_API}.DIRECT.GET.{stream}",
        f"{_JS_API}.DIRECT.GET.{stream}.>",
        f"$KV.{bucket}.>",
        *_ordered(stream),
    )


# Where each service's replies may go: the inboxes of the identities that may ask it.
_TWIN_INBOX: Final = f"{identities.inbox_prefix('twin')}.>"
_AUTOMATION_INBOXES: Final = "_AUTOMATION.*.>"
_ADMIN_INBOX: Final = f"{identities.inbox_prefix(identities.ADMIN)}.>"
_AUTH_ENDPOINTS: Final = (
    subjects.AUTH_API_LOGIN,
    subjects.AUTH_API_AUTHENTICATE,
    subjects.AUTH_API_LOGOUT,
    subjects.AUTH_API_PASSWORD,
)
# What the twin forwards for the HUD (mirror_twin.gateway): nothing else of the services' APIs.
_HUD_REQUESTS: Final = (
    subjects.COMMANDS_REQUEST,
    subjects.COMMANDS_API_LIST,
    subjects.COMMANDS_API_GET,
    subjects.COMMANDS_API_CANCEL,
    subjects.COMMANDS_API_RETRY,
    subjects.ALERTS_API_ACTIVE,
    subjects.ALERTS_API_LIST,
    subjects.ALERTS_API_ACK,
    subjects.METRICS_API_HISTORY,
)


def _endpoints(prefix: str) -> str:
    """Every caller's requests to the endpoints under `prefix` (``commands.api.*.*``...)."""
    return f"{prefix}.>"


# What each service publishes and subscribes to beyond its own inbox.
_SERVICE_SUBJECTS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # Samples posted over HTTP; answers logins and history for the twin.
    "ingest": (
        (
            *_streams_read(),
            *_durable(streams.METRICS.name, streams.CONSUMER_HISTORY),
            subjects.METRICS_RAW_ALL,
            subjects.DEAD_LETTER_ALL,
            _TWIN_INBOX,
            _ADMIN_INBOX,
        ),
        (_endpoints("auth.api"), _endpoints("metrics.api")),
    ),
    # Its checkpoint and placements (KV); forwards the HUD's logins and API calls as requests
    # in its own name; follows METRICS, ALERTS and COMMAND_RESULTS, and live output.
    "twin": (
        (
            *_streams_read(),
            *_ordered(streams.METRICS.name),
            *_ordered(streams.ALERTS.name),
            *_ordered(streams.COMMAND_RESULTS.name),
            *_bucket(streams.BUCKET_TWIN_CHECKPOINT),
            *_bucket(streams.BUCKET_TWIN_PLACEMENTS),
            *_requests("twin", (*_AUTH_ENDPOINTS, *_HUD_REQUESTS)),
        ),
        (subjects.COMMANDS_OUTPUT_ALL,),
    ),
    "alerts": (
        (
            *_streams_read(),
            *_durable(streams.METRICS.name, streams.CONSUMER_ALERTS),
            # Its own consumer alone, made anew at the position its snapshot covers.
            f"{_JS_API}.CONSUMER.DELETE.{streams.METRICS.name}.{streams.CONSUMER_ALERTS}",
            subjects.ALERTS_EVENTS_ALL,
            subjects.DEAD_LETTER_ALL,
            _TWIN_INBOX,
            _AUTOMATION_INBOXES,
            _ADMIN_INBOX,
        ),
        (_endpoints("alerts.api"), _endpoints("auth.api")),
    ),
    # The one identity that may dispatch commands (and ask agents to cancel them).
    "commands": (
        (
            *_streams_read(),
            *_durable(streams.COMMAND_RESULTS.name, streams.CONSUMER_COMMANDS),
            *_ordered(streams.METRICS.name),
            subjects.COMMANDS_DISPATCH_ALL,
            subjects.COMMANDS_WITHDRAWN_ALL,
            "commands.cancel.>",
            subjects.DEAD_LETTER_ALL,
            _TWIN_INBOX,
            _AUTOMATION_INBOXES,
            _ADMIN_INBOX,
        ),
        (
            _endpoints(subjects.COMMANDS_REQUEST),
            _endpoints("commands.api"),
            _endpoints("auth.api"),
        ),
    ),
}


def service_permissions(service: str) -> Permissions:
    """What the EGO service `service` (twin, ingest, alerts, commands) may do on the bus."""
    publish, subscribe = _SERVICE_SUBJECTS[service]
    denied: tuple[str, ...] = _DENIED
    if service == "alerts":
        own = f"{_JS_API}.CONSUMER.DELETE.{streams.METRICS.name}.{streams.CONSUMER_ALERTS}"
        denied = tuple(d for d in _DENIED if not own.startswith(d.removesuffix(">")))
    return Permissions(
        publish=publish,
        subscribe=(f"{identities.inbox_prefix(service)}.>", *subscribe),
        deny_publish=denied,
    )


def admin_permissions() -> Permissions:
    """Everything: for the launcher, which creates the streams."""
    return Permissions(publish=(">",), subscribe=(">",))


def _user(identity: Identity, permissions: Permissions) -> dict[str, Any]:
    denied = list(permissions.deny_publish)
    return {
        "nkey": identity.public_key,
        "permissions": {
            "publish": {"allow": list(permissions.publish), **({"deny": denied} if denied else {})},
            "subscribe": {"allow": list(permissions.subscribe)},
        },
    }


def accounts_block(users: Sequence[tuple[Identity, Permissions]]) -> str:
    """The `accounts { ... }` block of nats-server's config for `users`: STAGE, with every
    user but the agents, and one account per agent (see the module's docstring)."""
    stage_users: list[dict[str, Any]] = []
    exports: dict[str, dict[str, Any]] = {}
    imports: list[dict[str, Any]] = []
    accounts: dict[str, Any] = {}
    for identity, permissions in users:
        host = permissions.own_account
        if host is None:
            stage_users.append(_user(identity, permissions))
            continue
        account = agent_account(host)
        cancel = subjects.commands_cancel(host)
        agent_imports = _agent_imports(host)
        for entry in agent_imports:
            # One export a subject (a second would replace the first), naming every account
            # it is for: each agent's own subjects, and the read-only calls all share.
            export = exports.setdefault(
                entry.subject,
                {
                    "service": entry.subject,
                    "accounts": [],
                    **({"response_type": "stream"} if entry.streamed else {}),
                },
            )
            export["accounts"].append(account)
        imports.append({"service": {"account": account, "subject": cancel}})
        accounts[account] = {
            "users": [_user(identity, permissions)],
            "limits": {
                "max_connections": AGENT_MAX_CONNECTIONS,
                "max_subscriptions": AGENT_MAX_SUBSCRIPTIONS,
                "max_payload": MAX_PAYLOAD_BYTES,
            },
            "imports": [
                {
                    "service": {"account": STAGE_ACCOUNT, "subject": entry.subject},
                    **({"to": entry.local} if entry.local != entry.subject else {}),
                }
                for entry in agent_imports
            ],
            "exports": [{"service": cancel, "accounts": [STAGE_ACCOUNT]}],
        }
    stage = {
        "jetstream": "enabled",
        "users": stage_users,
        "exports": list(exports.values()),
        "imports": imports,
    }
    body = json.dumps({STAGE_ACCOUNT: stage, **accounts}, indent=2)
    return f"accounts {body}\n"
