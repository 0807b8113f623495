"""Who is on the bus: identity names, their inboxes, and who sent a request.

Every NATS identity has a name (``twin``, ``agent-web-1``, ``automation-ci``, ``admin``) and
an inbox prefix of its own, the only place its permissions let it read replies. A request to a
service's endpoint goes to ``<endpoint>.<caller>``, a subject only the identity named
``caller`` may publish (mirror_stage.nats_identities): so the subject names who asked, vouched
for by the server, and the reply must go to that caller's own inbox. No body field can claim
another identity, and no reply subject can point a service's answer anywhere else.
"""

from __future__ import annotations

from typing import Final

from mirror_schema.errors import InvalidSubject
from mirror_schema.hosts import validate_host_id

__all__ = [
    "ADMIN",
    "AGENT_JETSTREAM_PREFIX",
    "ENROLLER",
    "GATEWAY",
    "SCRAPER",
    "SERVICES",
    "SIMULATOR",
    "Caller",
    "agent_identity",
    "automation_identity",
    "caller_of",
    "endpoint_subscription",
    "inbox_prefix",
    "join_identity",
    "request_subject",
]

ADMIN: Final = "admin"  # the launcher and the command-line tool
SIMULATOR: Final = "simulator"
# Reads node_exporters and publishes the samples of the hosts in its targets file alone.
SCRAPER: Final = "scrape"
# Answers agents' join requests (mirror_stage.enroller): it enrolls, so it is no EGO service.
ENROLLER: Final = "enroller"
SERVICES: Final = ("twin", "ingest", "alerts", "commands")
# The web-facing service: it logs operators in, so it may name the operator it acts for.
GATEWAY: Final = "twin"

# Where an agent's JetStream API calls go when it has an account of its own (as every enrolled
# agent has: mirror_stage.nats_identities): the stack's account exports that agent its own
# consumer's and withdrawals' calls alone, imported under this prefix in place of `$JS.API`.
AGENT_JETSTREAM_PREFIX: Final = "STAGE.JS.API"

_AGENT: Final = "agent-"
_AUTOMATION: Final = "automation-"
_JOIN: Final = "join-"


def agent_identity(host_id: str) -> str:
    """The identity name of the agent of `host_id`."""
    return _AGENT + validate_host_id(host_id)


def automation_identity(name: str) -> str:
    """The identity name of the automation user `name` (same rule as a host id)."""
    return _AUTOMATION + validate_host_id(name)


def join_identity(token_id: str) -> str:
    """The identity name of the holders of join token `token_id` (same rule as a host id)."""
    return _JOIN + validate_host_id(token_id)


def inbox_prefix(identity: str) -> str:
    """Where `identity`'s replies come: ``_SERVICE.<name>``, ``_INBOX.<host>``,
    ``_AUTOMATION.<name>``, ``_JOIN.<token id>``, ``_SIMULATOR``, ``_ENROLLER`` or
    ``_ADMIN``."""
    if identity in SERVICES:
        return f"_SERVICE.{identity}"
    if identity == ADMIN:
        return "_ADMIN"
    if identity == SIMULATOR:
        return "_SIMULATOR"
    if identity == ENROLLER:
        return "_ENROLLER"
    if identity == SCRAPER:
        return "_SCRAPE"
    if identity.startswith(_JOIN):
        return f"_JOIN.{validate_host_id(identity.removeprefix(_JOIN))}"
    if identity.startswith(_AGENT):
        return f"_INBOX.{validate_host_id(identity.removeprefix(_AGENT))}"
    if identity.startswith(_AUTOMATION):
        return f"_AUTOMATION.{validate_host_id(identity.removeprefix(_AUTOMATION))}"
    raise ValueError(
        f"unknown identity {identity!r}: expected one of {', '.join(SERVICES)}, {ADMIN}, "
        f"{SIMULATOR}, {ENROLLER}, {_AGENT}<host id>, {_AUTOMATION}<name> or {_JOIN}<token id>"
    )


def request_subject(endpoint: str, caller: str) -> str:
    """``<endpoint>.<caller>``: a request to `endpoint` (e.g. ``commands.request``) sent by the
    identity named `caller`, the only one allowed to publish it."""
    return f"{endpoint}.{validate_host_id(caller)}"


def endpoint_subscription(endpoint: str) -> str:
    """``<endpoint>.*``: what a service subscribes to take `endpoint`'s requests from anyone."""
    return f"{endpoint}.*"


class Caller:
    """Who sent a request, read from its subject; `reply_allowed` checks where it wants the
    answer."""

    __slots__ = ("identity",)

    def __init__(self, identity: str) -> None:
        self.identity = identity

    def __repr__(self) -> str:
        return f"Caller({self.identity!r})"

    @property
    def is_gateway(self) -> bool:
        """The twin, which may act for the operator it logged in."""
        return self.identity == GATEWAY

    def actor(self, operator: str | None = None) -> str:
        """The name the audit trail records: the operator the gateway names, else the
        identity itself (``nats:automation-ci``)."""
        if self.is_gateway and operator:
            return operator
        return f"nats:{self.identity}"

    def reply_allowed(self, reply: str) -> bool:
        """Whether `reply` lies in this caller's own inbox."""
        try:
            prefix = inbox_prefix(self.identity)
        except ValueError:
            return False
        return reply.startswith(prefix + ".") and ">" not in reply and "*" not in reply


def caller_of(subject: str, endpoint: str) -> Caller:
    """The caller a request on ``<endpoint>.<caller>`` names; InvalidSubject otherwise."""
    head = endpoint + "."
    rest = subject.removeprefix(head)
    if not subject.startswith(head) or "." in rest:
        raise InvalidSubject(subject, f"a request is sent on {head}<caller>")
    return Caller(validate_host_id(rest))
