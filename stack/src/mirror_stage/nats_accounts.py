"""The accounts block of nats-server's config: who is in which account, and what crosses.

The stack's identities (admin, services, scripts, simulator) share the account STAGE, which
holds the streams. Each enrolled agent is alone in an account of its own, AGENT_<host>: there
the server caps its connections, subscriptions and payload, and nothing of STAGE exists but
what STAGE exports to that account alone: its own host's sample, command status, result,
output and dead-letter subjects, and the JetStream API calls of its own consumer on COMMANDS
(filtered, by the subject itself, to its own host) and its own withdrawals, imported under
mirror_schema.identities.AGENT_JETSTREAM_PREFIX. STAGE imports its cancel subject back. Within
its account the agent's permissions allow just those subjects; everything else is refused.
The holders of every live join token share the account JOIN, which reaches of STAGE only the
join requests (`agents.join.*`), each user its own token's subject alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from mirror_agent.commands.loop import consumer_name
from mirror_schema import identities, streams, subjects
from mirror_stage.nats_identities import JS_API, Identity, Permissions, agent_inbox_prefix
from mirror_stage.natsd import MAX_PAYLOAD_BYTES

__all__ = [
    "AGENT_MAX_CONNECTIONS",
    "JOIN_ACCOUNT",
    "STAGE_ACCOUNT",
    "accounts_block",
    "agent_account",
    "agent_permissions",
]

STAGE_ACCOUNT: Final = "STAGE"  # the streams, the services, the admin, scripts, the simulator
# Every live join token's holders: they may only ask the enroller (STAGE) to join.
JOIN_ACCOUNT: Final = "JOIN"
JOIN_MAX_CONNECTIONS: Final = 64  # hosts joining at once, all tokens together
JOIN_MAX_PAYLOAD_BYTES: Final = 4096  # a join request is a few hundred bytes
# Per agent (nats-server counts them per account): its connection, `mirror-agent --check`
# beside it, and a reconnect while the server still holds a half-dead old connection.
AGENT_MAX_CONNECTIONS: Final = 4
AGENT_MAX_SUBSCRIPTIONS: Final = 64  # it holds five: inboxes, cancel, its pull


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
        return _Import(f"{JS_API}.{call}", local, streamed)

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
            f"{JS_API}.INFO",
            # Its answers to the cancel requests STAGE imports from it: the server names
            # those reply subjects, and routes them back to the asker alone.
            "_R_.>",
        ),
        subscribe=(f"{agent_inbox_prefix(host_id)}.>", subjects.commands_cancel(host_id)),
        own_account=host_id,
    )


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
    joiners: list[dict[str, Any]] = []
    for identity, permissions in users:
        if permissions.join_token is not None:
            joiners.append(_user(identity, permissions))
            continue
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
    # Always there, with or without live tokens: nats-server wires a new account's imports
    # only at the reload after the one that made it (mirror_stage.natsd.reload).
    exports[subjects.AGENTS_JOIN_ALL] = {
        "service": subjects.AGENTS_JOIN_ALL,
        "accounts": [JOIN_ACCOUNT],
    }
    join = {
        "users": joiners,
        "limits": {
            "max_connections": JOIN_MAX_CONNECTIONS,
            "max_subscriptions": 2 * JOIN_MAX_CONNECTIONS,
            "max_payload": JOIN_MAX_PAYLOAD_BYTES,
        },
        "imports": [{"service": {"account": STAGE_ACCOUNT, "subject": subjects.AGENTS_JOIN_ALL}}],
    }
    stage = {
        "jetstream": "enabled",
        "users": stage_users,
        "exports": list(exports.values()),
        "imports": imports,
    }
    body = json.dumps({STAGE_ACCOUNT: stage, JOIN_ACCOUNT: join, **accounts}, indent=2)
    return f"accounts {body}\n"
