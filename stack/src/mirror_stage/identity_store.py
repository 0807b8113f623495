"""IdentityStore: the stack's NATS identities on disk, and the users nats-server is told about.

``<data dir>/identities/`` holds one NKey seed per identity (``<name>.nk``, mode 0600: the
credentials file its holder connects with) and ``registry.json`` (name, role, host, public
key). Roles: ``admin`` (the launcher and this command-line tool), ``service`` (the EGO
services), ``simulator`` (samples of any host), ``agent`` (one per host, confined to its own
subjects), ``automation`` (scripts: the services' request endpoints only).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

import msgspec

from mirror_ingest.tokens import TokenEntry, TokensFile, token_digest
from mirror_schema import identities
from mirror_schema.hosts import validate_host_id
from mirror_schema.identities import join_identity
from mirror_stage.join_tokens import JoinStore
from mirror_stage.nats_accounts import agent_permissions
from mirror_stage.nats_identities import (
    Identity,
    Permissions,
    admin_permissions,
    automation_permissions,
    enroller_permissions,
    join_permissions,
    new_identity,
    scraper_permissions,
    service_permissions,
    simulator_permissions,
)

__all__ = [
    "ADMIN",
    "IdentityConflictError",
    "IdentityStore",
    "Role",
    "agent_name",
    "automation_name",
]

Role = Literal["admin", "service", "agent", "automation", "simulator", "enroller", "scraper"]
ADMIN: Final = "admin"
_REGISTRY: Final = "registry.json"
INGEST_TOKENS: Final = "ingest-tokens.json"  # what MIRROR_STAGE_INGEST_TOKENS_FILE names
SCRAPE_HOSTS: Final = "scrape-hosts.json"  # the hosts the scraper may publish for


class IdentityConflictError(RuntimeError):
    """The change would replace an identity it must not (an agent that joined)."""


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role
    public_key: str
    host_id: str | None = None
    # Joined with a join token: its seed was made on its host and never left it.
    joined: bool = False


class _Registry(msgspec.Struct, kw_only=True):
    identities: list[_Entry] = []


# The identities' names, as mirror_schema.identities makes them.
automation_name = identities.automation_identity
agent_name = identities.agent_identity


class IdentityStore:
    """Identities in a directory; every change is written at once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def seed_path(self, name: str) -> Path:
        """The credentials file of `name`."""
        return self.directory / f"{name}.nk"

    def ensure(self, name: str, role: Role, host_id: str | None = None) -> Identity:
        """The identity `name`, made (seed file and registry entry) if it does not exist.

        IdentityConflictError for an agent that joined (its seed is on its host alone):
        replacing its key here would cut it off.
        """
        registry = self._load()
        for entry in registry.identities:
            if entry.name == name and entry.joined:
                raise IdentityConflictError(
                    f"{entry.host_id or name} joined with a join token and holds its own key: "
                    f"`mirror-stage agent revoke {entry.host_id or name}` first to enroll it anew"
                )
            if entry.name == name and self.seed_path(name).exists():
                seed = self.seed_path(name).read_text(encoding="ascii").strip()
                return Identity(name=name, seed=seed, public_key=entry.public_key)
        identity = self._make(registry, name, role, host_id)
        self._save(registry)
        return identity

    def _make(self, registry: _Registry, name: str, role: Role, host_id: str | None) -> Identity:
        """A new identity `name`: its seed file written, its entry put in `registry` (which
        the caller saves)."""
        identity = new_identity(name)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.seed_path(name)
        # Created 0600 before the secret is written: never readable by others, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(identity.seed + "\n")
        registry.identities = [e for e in registry.identities if e.name != name]
        registry.identities.append(
            _Entry(name=name, role=role, public_key=identity.public_key, host_id=host_id)
        )
        return identity

    def enroll_new_agents(self, host_ids: Sequence[str]) -> list[str]:
        """Make the identities of the agents of `host_ids` that have none, in one write of
        the registry; the hosts made (an enrolled host keeps its identity)."""
        registry = self._load()
        # Enrolled is in the registry, seed file or not: the key is the server's user either
        # way (an administrator may have moved the seed to its host).
        enrolled = {e.host_id for e in registry.identities if e.role == "agent" and e.host_id}
        made = [host for host in dict.fromkeys(host_ids) if host not in enrolled]
        for host in made:
            self._make(registry, agent_name(host), "agent", host)
        self._save(registry)
        return made

    @property
    def ingest_tokens_path(self) -> Path:
        """The ingest's tokens file: each agent's token as a digest, with its host."""
        return self.directory / INGEST_TOKENS

    def enroll_agent(self, host_id: str) -> Path:
        """Make (or keep) the identity of the agent of `host_id`; its credentials file.
        IdentityConflictError for a host the scraper publishes for."""
        if host_id in self.scrape_hosts():
            raise IdentityConflictError(
                f"{host_id} is read by the scraper (its targets file): give the target another "
                "host_id label first"
            )
        self.ensure(agent_name(host_id), "agent", host_id)
        return self.seed_path(agent_name(host_id))

    def agent_key(self, host_id: str) -> str | None:
        """The public key the agent of `host_id` is enrolled with; None when it is not."""
        for entry in self._load().identities:
            if entry.role == "agent" and entry.host_id == host_id:
                return entry.public_key
        return None

    def ingest_token_host(self, sha256: str) -> str | None:
        """The host whose ingest token has this SHA-256, if any."""
        return next((e.host_id for e in self._tokens().tokens if e.sha256 == sha256), None)

    def add_joined_agent(self, host_id: str, public_key: str, ingest_token_sha256: str) -> None:
        """Enroll the agent of `host_id` with the public parts of secrets it made itself: its
        NKey's public key and its ingest token's SHA-256."""
        # The token first, the registry last: the registry entry is what makes the agent
        # enrolled, so a crash between the two leaves a token no identity uses, not the
        # reverse (an enrolled agent whose HTTP posts are refused for ever).
        entries = [e for e in self._tokens().tokens if e.host_id != host_id]
        entries.append(TokenEntry(host_id=host_id, sha256=ingest_token_sha256))
        self._write_tokens(TokensFile(tokens=entries))
        registry = self._load()
        name = agent_name(host_id)
        registry.identities = [e for e in registry.identities if e.name != name]
        registry.identities.append(
            _Entry(name=name, role="agent", public_key=public_key, host_id=host_id, joined=True)
        )
        self._save(registry)

    def new_ingest_token(self, host_id: str) -> str:
        """A fresh bearer token for `host_id`'s agent to post samples over HTTP (it replaces
        the host's previous one); shown once: only its digest is kept."""
        return self.new_ingest_tokens([host_id])[host_id]

    def new_ingest_tokens(self, host_ids: Sequence[str]) -> dict[str, str]:
        """`new_ingest_token` for each of `host_ids`, in one write of the tokens file."""
        fresh = {validate_host_id(host): secrets.token_urlsafe(32) for host in host_ids}
        entries = [e for e in self._tokens().tokens if e.host_id not in fresh]
        entries += [TokenEntry(host_id=h, sha256=token_digest(t)) for h, t in fresh.items()]
        self._write_tokens(TokensFile(tokens=entries))
        return fresh

    def _tokens(self) -> TokensFile:
        path = self.ingest_tokens_path
        if not path.exists():
            return TokensFile()
        return msgspec.json.decode(path.read_bytes(), type=TokensFile)

    def _write_tokens(self, content: TokensFile) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.ingest_tokens_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(msgspec.json.encode(content))
        temporary.replace(self.ingest_tokens_path)

    def revoke(self, name: str) -> bool:
        """Forget `name`, delete its credentials file and its host's ingest token; False if
        there was no such identity."""
        registry = self._load()
        revoked = [e for e in registry.identities if e.name == name]
        if not revoked:
            return False
        registry.identities = [e for e in registry.identities if e.name != name]
        self._save(registry)
        self.seed_path(name).unlink(missing_ok=True)
        hosts = {e.host_id for e in revoked if e.host_id is not None}
        if hosts:
            kept = [t for t in self._tokens().tokens if t.host_id not in hosts]
            self._write_tokens(TokensFile(tokens=kept))
        return True

    def scrape_hosts(self) -> list[str]:
        """The hosts the scraper may publish samples for (its targets file's)."""
        path = self.directory / SCRAPE_HOSTS
        if not path.exists():
            return []
        return sorted(msgspec.json.decode(path.read_bytes(), type=list[str]))

    def set_scrape_hosts(self, host_ids: Sequence[str]) -> bool:
        """Let the scraper publish for `host_ids` alone; whether that changed anything."""
        wanted = sorted({validate_host_id(host) for host in host_ids})
        if wanted == self.scrape_hosts():
            return False
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / SCRAPE_HOSTS
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(msgspec.json.encode(wanted))
        temporary.replace(path)
        return True

    def agents(self) -> list[str]:
        """The host ids of the enrolled agents."""
        return sorted(e.host_id for e in self._load().identities if e.host_id is not None)

    def users(self) -> Iterator[tuple[Identity, Permissions]]:
        """Every identity with its permissions, for nats-server's `authorization` block."""
        for entry in self._load().identities:
            identity = Identity(name=entry.name, seed="", public_key=entry.public_key)
            if entry.role == "agent" and entry.host_id is not None:
                yield identity, agent_permissions(entry.host_id)
            elif entry.role == "simulator":
                yield identity, simulator_permissions()
            elif entry.role == "automation":
                yield identity, automation_permissions(entry.name.removeprefix("automation-"))
            elif entry.role == "service":
                yield identity, service_permissions(entry.name)
            elif entry.role == "enroller":
                yield identity, enroller_permissions()
            elif entry.role == "scraper":
                yield identity, scraper_permissions(self.scrape_hosts())
            else:
                yield identity, admin_permissions()
        # The holders of each join token that admits someone now, as one user per token.
        for token in JoinStore(self.directory).holders():
            joiner = Identity(name=join_identity(token.id), seed="", public_key=token.public_key)
            yield joiner, join_permissions(token.id)

    def _load(self) -> _Registry:
        path = self.directory / _REGISTRY
        if not path.exists():
            return _Registry()
        return msgspec.json.decode(path.read_bytes(), type=_Registry)

    def _save(self, registry: _Registry) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / _REGISTRY
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(registry)))
        temporary.replace(path)
