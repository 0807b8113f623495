"""NATS identities (NKeys) and what each identity of the stack's account may publish and
subscribe to: the admin, the services, scripts and the simulator. Agents, each in an account
of its own, and the accounts block nats-server reads: mirror_stage.nats_accounts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

import msgspec
import nkeys

from mirror_agent.nats_auth import SIMULATOR_INBOX
from mirror_schema import identities, streams, subjects
from mirror_schema.forwarded import FORWARDED

__all__ = [
    "JS_API",
    "Identity",
    "Permissions",
    "admin_permissions",
    "agent_inbox_prefix",
    "automation_inbox_prefix",
    "automation_permissions",
    "enroller_permissions",
    "join_permissions",
    "new_identity",
    "scraper_permissions",
    "service_permissions",
    "simulator_permissions",
]

JS_API: Final = "$JS.API"


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
    # The join token whose holders the user is (in the JOIN account); None: not a joiner.
    join_token: str | None = None


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
    subjects.ALERTS_API_RULES_PREVIEW,
    subjects.ALERTS_API_RECEIVERS_LIST,
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
        publish=(subjects.METRICS_RAW_ALL, f"{JS_API}.INFO"),
        subscribe=(f"{SIMULATOR_INBOX}.>",),
    )


# Each service's JetStream API grant is the calls it makes, nothing of $JS.API.> beyond: it
# reads and (when no launcher did) creates the streams, but never changes, purges or deletes
# one; it creates, reads and acknowledges its own named consumers; the twin its own buckets.
_STREAM_NAMES: Final = tuple(spec.name for spec in streams.STREAMS)
_DENIED: Final = (
    f"{JS_API}.STREAM.DELETE.>",
    f"{JS_API}.STREAM.PURGE.>",
    f"{JS_API}.STREAM.UPDATE.>",
    f"{JS_API}.STREAM.MSG.DELETE.>",
    f"{JS_API}.CONSUMER.DELETE.>",
)


def _streams_read() -> tuple[str, ...]:
    return (
        f"{JS_API}.INFO",
        f"{JS_API}.STREAM.NAMES",
        *(f"{JS_API}.STREAM.INFO.{name}" for name in _STREAM_NAMES),
        *(f"{JS_API}.STREAM.CREATE.{name}" for name in _STREAM_NAMES),
    )


def _ordered(stream: str) -> tuple[str, ...]:
    """An ordered consumer (ephemeral, unnamed, its deliveries to the caller's own inbox)."""
    return (
        f"{JS_API}.CONSUMER.CREATE.{stream}",
        f"{JS_API}.CONSUMER.INFO.{stream}.*",  # read-only: nats-py checks what it made
        "$JS.FC.>",
    )


def _durable(stream: str, name: str) -> tuple[str, ...]:
    """A named durable consumer: created (however nats-py spells it), read, pulled, acked."""
    return (
        f"{JS_API}.CONSUMER.CREATE.{stream}.{name}",
        f"{JS_API}.CONSUMER.CREATE.{stream}.{name}.>",
        f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
        f"{JS_API}.CONSUMER.INFO.{stream}.{name}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
        f"$JS.ACK.{stream}.{name}.>",
    )


def _bucket(bucket: str) -> tuple[str, ...]:
    """A key-value bucket: made when missing, read, written, watched."""
    stream = f"KV_{bucket}"
    return (
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.CREATE.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
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
# What the twin forwards for the HUD (mirror_twin.forward): the subjects of the operations in
# mirror_schema.forwarded.FORWARDED, nothing else of the services' APIs.
_HUD_REQUESTS: Final = tuple(
    operation.subject for operation in FORWARDED if operation.subject is not None
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
    # Its checkpoint, the checkpoint writer's lease and placements (KV); forwards the HUD's
    # logins and API calls as requests in its own name; follows METRICS, ALERTS and
    # COMMAND_RESULTS, and live output.
    "twin": (
        (
            *_streams_read(),
            *_ordered(streams.METRICS.name),
            *_ordered(streams.ALERTS.name),
            *_ordered(streams.COMMAND_RESULTS.name),
            *_bucket(streams.BUCKET_TWIN_CHECKPOINT),
            # The lease of the one replica writing the checkpoint.
            *_bucket(streams.BUCKET_TWIN_CHECKPOINT_WRITER),
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
            f"{JS_API}.CONSUMER.DELETE.{streams.METRICS.name}.{streams.CONSUMER_ALERTS}",
            # Its events read back one by one, to store them (the recorder).
            f"{JS_API}.STREAM.MSG.GET.{streams.ALERTS.name}",
            # The evaluator's lease.
            *_bucket(streams.BUCKET_ALERTS_LEADER),
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
        own = f"{JS_API}.CONSUMER.DELETE.{streams.METRICS.name}.{streams.CONSUMER_ALERTS}"
        denied = tuple(d for d in _DENIED if not own.startswith(d.removesuffix(">")))
    return Permissions(
        publish=publish,
        subscribe=(f"{identities.inbox_prefix(service)}.>", *subscribe),
        deny_publish=denied,
    )


def scraper_permissions(host_ids: Sequence[str]) -> Permissions:
    """The scraper's: the samples of the hosts in its targets file alone, and its replies."""
    return Permissions(
        publish=(*(subjects.metrics_raw(host) for host in host_ids), f"{JS_API}.INFO"),
        subscribe=(f"{identities.inbox_prefix(identities.SCRAPER)}.>",),
    )


def enroller_permissions() -> Permissions:
    """The enroller's: join requests in, its answers out (to the reply subjects the server
    maps for requests imported from the JOIN account, and under its own inbox, where the
    launcher's health probe asks), nothing else."""
    own_inbox = identities.inbox_prefix(identities.ENROLLER)
    return Permissions(
        publish=("_R_.>", f"{own_inbox}.>"),
        subscribe=(subjects.AGENTS_JOIN_ALL, f"{identities.inbox_prefix(identities.ENROLLER)}.>"),
    )


def join_permissions(token_id: str) -> Permissions:
    """A join token's holders, in the JOIN account: ask to join with that token, read the
    answer, and nothing more."""
    prefix = identities.inbox_prefix(identities.join_identity(token_id))
    return Permissions(
        publish=(subjects.agents_join(token_id),),
        subscribe=(f"{prefix}.>",),
        join_token=token_id,
    )


def admin_permissions() -> Permissions:
    """Everything: for the launcher, which creates the streams."""
    return Permissions(publish=(">",), subscribe=(">",))
