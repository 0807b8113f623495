"""NATS identities (NKeys) and what each may publish and subscribe to, as nats-server config.

An agent's identity confines it to its own host's subjects: it publishes its samples, command
statuses, results, output and dead letters, and the JetStream API calls of its own consumer
on COMMANDS (filtered, by the subject itself, to its own host); it subscribes only to its own
inbox and cancel subject. Everything else is refused by the server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Final

import msgspec
import nkeys

from mirror_agent.commands.loop import consumer_name
from mirror_agent.nats_auth import SIMULATOR_INBOX
from mirror_schema import streams, subjects

__all__ = [
    "Identity",
    "Permissions",
    "admin_permissions",
    "agent_inbox_prefix",
    "agent_permissions",
    "authorization_block",
    "automation_inbox_prefix",
    "automation_permissions",
    "new_identity",
    "service_permissions",
    "simulator_permissions",
]

_JS_API: Final = "$JS.API"


class Permissions(msgspec.Struct, frozen=True, kw_only=True):
    """Subjects a user may publish and subscribe to (allow lists; all else is denied)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    # Whether it may answer requests sent to it (a reply subject it was not granted).
    allow_responses: bool = False
    # Refused even where `publish` allows them.
    deny_publish: tuple[str, ...] = ()


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
    return f"_INBOX.{host_id}"


def agent_permissions(host_id: str) -> Permissions:
    """What the agent of `host_id` may do on the bus, and nothing more."""
    commands = streams.COMMANDS.name
    consumer = consumer_name(host_id)
    dispatch = subjects.commands_dispatch(host_id)
    return Permissions(
        publish=(
            subjects.metrics_raw(host_id),
            subjects.commands_status(host_id),
            subjects.commands_result(host_id),
            subjects.commands_output_all(host_id),
            subjects.dead_letter(dispatch),
            # Its consumer: created only with its own host's filter (the filter is part of
            # the subject, and the server checks it against the request), read, acknowledged.
            f"{_JS_API}.CONSUMER.CREATE.{commands}.{consumer}.{dispatch}",
            f"{_JS_API}.CONSUMER.INFO.{commands}.{consumer}",
            f"{_JS_API}.CONSUMER.MSG.NEXT.{commands}.{consumer}",
            f"$JS.ACK.{commands}.{consumer}.>",
            f"{_JS_API}.STREAM.NAMES",  # which stream holds a subject (`mirror-agent check`)
            f"{_JS_API}.INFO",
        ),
        subscribe=(f"{agent_inbox_prefix(host_id)}.>", subjects.commands_cancel(host_id)),
        allow_responses=True,  # answers the commands service's cancel requests
    )


def automation_inbox_prefix(name: str) -> str:
    """The inbox prefix an automation user connects with (apart from every agent's)."""
    return f"_AUTOMATION.{name}"


def automation_permissions(name: str) -> Permissions:
    """A script's: the services' request endpoints (commands, alerts) and its own replies."""
    return Permissions(
        publish=(subjects.COMMANDS_REQUEST, "commands.api.>", "alerts.api.>"),
        subscribe=(f"{automation_inbox_prefix(name)}.>",),
    )


def simulator_permissions() -> Permissions:
    """The fleet simulator's: samples of any host, and its own replies."""
    return Permissions(
        publish=(subjects.METRICS_RAW_ALL, f"{_JS_API}.INFO"),
        subscribe=(f"{SIMULATOR_INBOX}.>",),
    )


# Every service reads its streams through the JetStream API (and may create them, when no
# launcher did), acknowledges and answers flow control, but none may delete or purge a stream
# or a message: that is the admin's alone.
_SERVICE_JETSTREAM: Final = (f"{_JS_API}.>", "$JS.ACK.>", "$JS.FC.>")
_SERVICE_DENIED: Final = (
    f"{_JS_API}.STREAM.DELETE.>",
    f"{_JS_API}.STREAM.PURGE.>",
    f"{_JS_API}.STREAM.MSG.DELETE.>",
)
_AUTH_REQUESTS: Final = "auth.api.>"
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
# What each service publishes beyond the JetStream API, and subscribes to beyond its inbox.
_SERVICE_SUBJECTS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # Samples posted over HTTP; answers logins for the twin.
    "ingest": (
        (subjects.METRICS_RAW_ALL, subjects.DEAD_LETTER_ALL),
        (_AUTH_REQUESTS, "metrics.api.>"),
    ),
    # Its checkpoint and placements (KV); forwards the HUD's logins and API calls as requests.
    "twin": (
        (
            "$KV.twin_checkpoint.>",
            "$KV.twin_placements.>",
            _AUTH_REQUESTS,
            *_HUD_REQUESTS,
        ),
        (subjects.COMMANDS_OUTPUT_ALL,),
    ),
    "alerts": (
        (subjects.ALERTS_EVENTS_ALL, subjects.DEAD_LETTER_ALL),
        ("alerts.api.>", _AUTH_REQUESTS),
    ),
    # The one identity that may dispatch commands (and ask agents to cancel them).
    "commands": (
        (subjects.COMMANDS_DISPATCH_ALL, "commands.cancel.>", subjects.DEAD_LETTER_ALL),
        (subjects.COMMANDS_REQUEST, "commands.api.>", _AUTH_REQUESTS),
    ),
}


def service_permissions(service: str) -> Permissions:
    """What the EGO service `service` (twin, ingest, alerts, commands) may do on the bus."""
    publish, subscribe = _SERVICE_SUBJECTS[service]
    return Permissions(
        publish=(*_SERVICE_JETSTREAM, *publish),
        subscribe=(f"{subjects.service_inbox_prefix(service)}.>", *subscribe),
        allow_responses=service != "twin",  # the others answer requests
        deny_publish=_SERVICE_DENIED,
    )


def admin_permissions() -> Permissions:
    """Everything: for the launcher, which creates the streams."""
    return Permissions(publish=(">",), subscribe=(">",))


def authorization_block(users: Sequence[tuple[Identity, Permissions]]) -> str:
    """The `authorization { users = [...] }` block of nats-server's config for `users`."""
    entries = []
    for identity, permissions in users:
        denied = list(permissions.deny_publish)
        entry = {
            "nkey": identity.public_key,
            "permissions": {
                "publish": {
                    "allow": list(permissions.publish),
                    **({"deny": denied} if denied else {}),
                },
                "subscribe": {"allow": list(permissions.subscribe)},
                **({"allow_responses": True} if permissions.allow_responses else {}),
            },
        }
        entries.append(json.dumps(entry))
    body = ",\n    ".join(entries)
    return f"authorization {{\n  users = [\n    {body}\n  ]\n}}\n"
