"""IdentityStore: the stack's NATS identities on disk, and the users nats-server is told about.

``<data dir>/identities/`` holds one NKey seed per identity (``<name>.nk``, mode 0600: the
credentials file its holder connects with) and ``registry.json`` (name, role, host, public
key). Roles: ``admin`` (the launcher and this command-line tool), ``service`` (the EGO services
and the simulator), ``agent`` (one per host, confined to its own subjects).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal

import msgspec

from mirror_schema.hosts import validate_host_id
from mirror_stage.nats_identities import (
    Identity,
    Permissions,
    admin_permissions,
    agent_permissions,
    new_identity,
)

__all__ = ["ADMIN", "IdentityStore", "Role", "agent_name"]

Role = Literal["admin", "service", "agent"]
ADMIN: Final = "admin"
_REGISTRY: Final = "registry.json"


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role
    public_key: str
    host_id: str | None = None


class _Registry(msgspec.Struct, kw_only=True):
    identities: list[_Entry] = []


def agent_name(host_id: str) -> str:
    """The identity name of the agent of `host_id`."""
    return f"agent-{validate_host_id(host_id)}"


class IdentityStore:
    """Identities in a directory; every change is written at once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def seed_path(self, name: str) -> Path:
        """The credentials file of `name`."""
        return self.directory / f"{name}.nk"

    def ensure(self, name: str, role: Role, host_id: str | None = None) -> Identity:
        """The identity `name`, made (seed file and registry entry) if it does not exist."""
        registry = self._load()
        for entry in registry.identities:
            if entry.name == name and self.seed_path(name).exists():
                seed = self.seed_path(name).read_text(encoding="ascii").strip()
                return Identity(name=name, seed=seed, public_key=entry.public_key)
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
        self._save(registry)
        return identity

    def enroll_agent(self, host_id: str) -> Path:
        """Make (or keep) the identity of the agent of `host_id`; its credentials file."""
        self.ensure(agent_name(host_id), "agent", host_id)
        return self.seed_path(agent_name(host_id))

    def revoke(self, name: str) -> bool:
        """Forget `name` and delete its credentials file; False if there was no such identity."""
        registry = self._load()
        kept = [e for e in registry.identities if e.name != name]
        if len(kept) == len(registry.identities):
            return False
        registry.identities = kept
        self._save(registry)
        self.seed_path(name).unlink(missing_ok=True)
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
            else:
                # Services are trusted with the whole bus for now; their own narrower sets are
                # still to be written (the agents, the exposed side, are confined already).
                yield identity, admin_permissions()

    def _load(self) -> _Registry:
        path = self.directory / _REGISTRY
        if not path.exists():
            return _Registry()
        return msgspec.json.decode(path.read_bytes(), type=_Registry)

    def _save(self, registry: _Registry) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / _REGISTRY
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(registry)))
        temporary.replace(path)
