"""`mirror-stage compose-init`: what `docker compose up` needs before anything starts.

Run by the compose file's `init` service (as root, once per `up`; it changes nothing that is
already there). The stack's identities stay in DATA (the registry, every seed, the admin's);
EXPORT gets one directory per consumer, each mounted by that container alone:

    EXPORT/nats/users.conf          the accounts block (public keys and permissions only)
    EXPORT/nats-data/               nats's store: streams kept from before the stack had
                                    accounts move to the account STAGE (nats-server keeps
                                    each account's streams in a folder of its own)
    EXPORT/postgres/password        the database superuser's password, made once (root
                                    only: the postgres image reads it before it drops
                                    privileges)
    EXPORT/database/*.pgpass        the superuser's (admin.pgpass) and every role's password
                                    (mirror_owner, mirror_<service>), for the migrate step
                                    alone, which makes the roles (mirror-stage db migrate)
    EXPORT/<service>/nats.nk        the service's NKey seed, owned by the services' user
    EXPORT/<service>/pgpass         its own role's password file (PG services)
    EXPORT/ingest/ingest-tokens.json  the agents' HTTP token digests

Nothing secret is ever in the image or the compose file.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from mirror_ingest.tokens import TokensFile
from mirror_stage.database import ensure_passwords, passfile_path, pgpass_line, role_names
from mirror_stage.enrollment import ensure_stack_identities
from mirror_stage.identity_store import IdentityStore
from mirror_stage.nats_accounts import STAGE_ACCOUNT, accounts_block
from mirror_stage.natsd import adopt_default_account_store
from mirror_stage.private_files import write_private
from mirror_stage.stack_layout import StackLayout

# The services holding the database, and its host and superuser in the compose file.
DATABASE_SERVICES: Final = ("ingest", "alerts", "commands")
SERVICES: Final = ("twin", *DATABASE_SERVICES)
DATABASE_HOST: Final = "postgres"
DATABASE_PORT: Final = 5432
DATABASE_USER: Final = "mirror"
ADMIN_PGPASS: Final = "admin.pgpass"
NATS_DATA: Final = "nats-data"  # nats's store volume, where the init service mounts it


@dataclass(frozen=True)
class Owner:
    """Who the services run as in their containers (the image's user)."""

    uid: int
    gid: int

    @classmethod
    def parse(cls, text: str) -> Owner:
        uid, colon, gid = text.partition(":")
        if not uid.isdigit() or (colon and not gid.isdigit()):
            raise ValueError(f"--owner {text!r}: expected UID or UID:GID, e.g. 10001:10001")
        return cls(int(uid), int(gid) if colon else int(uid))


def _write(path: Path, content: str, mode: int, owner: Owner | None) -> None:
    """Write `content` privately, then give it `mode` and (when given) its owner."""
    write_private(path, content)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner.uid, owner.gid)


def database_password(export: Path) -> str:
    """The database's password: made once, then the same at every run."""
    path = export / "postgres" / "password"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    _write(path, password + "\n", 0o600, None)
    return password


def compose_init(layout: StackLayout, export: Path, owner: Owner) -> list[Path]:
    """Make or refresh everything under `export`; the files written."""
    store = IdentityStore(layout.identities_dir)
    ensure_stack_identities(store)
    written: list[Path] = []
    users = export / "nats" / "users.conf"
    _write(users, accounts_block(list(store.users())), 0o644, None)
    written.append(users)
    # Streams stored before the stack had accounts are handed to STAGE (a single server).
    if adopt_default_account_store(export / NATS_DATA, STAGE_ACCOUNT, clustered=False):
        written.append(export / NATS_DATA / "jetstream" / STAGE_ACCOUNT)
    password = database_password(export)
    written.append(export / "postgres" / "password")
    # The migrate step (as the services' user) makes the roles with these passwords.
    roles = role_names()
    database = export / "database"
    passwords = ensure_passwords(database, list(roles.values()))
    admin = database / ADMIN_PGPASS
    superuser = pgpass_line(DATABASE_HOST, str(DATABASE_PORT), DATABASE_USER, password)
    _write(admin, superuser, 0o600, owner)
    written.append(admin)
    for role in roles.values():
        path = passfile_path(database, role)
        os.chown(path, owner.uid, owner.gid)  # made 0600 by ensure_passwords
        written.append(path)
    for service in SERVICES:
        seed = export / service / "nats.nk"
        _write(seed, store.seed_path(service).read_text(), 0o400, owner)
        written.append(seed)
        if service in DATABASE_SERVICES:
            pgpass = export / service / "pgpass"
            role = roles[service]
            line = pgpass_line(DATABASE_HOST, str(DATABASE_PORT), role, passwords[role])
            _write(pgpass, line, 0o600, owner)
            written.append(pgpass)
    # Always there, empty until an agent is enrolled: the ingest then takes no HTTP samples.
    tokens = store.ingest_tokens_path
    content = tokens.read_text() if tokens.is_file() else msgspec.json.encode(TokensFile()).decode()
    target = export / "ingest" / "ingest-tokens.json"
    _write(target, content, 0o400, owner)
    written.append(target)
    return written


def run_compose_init(layout: StackLayout, export: Path, owner: str) -> int:
    """The command: the exit code."""
    try:
        who = Owner.parse(owner)
    except ValueError as exc:
        print(f"mirror-stage compose-init: {exc}")  # noqa: T201
        return 2
    for path in compose_init(layout, export, who):
        print(f"  {path}")  # noqa: T201 - what the command did
    print(  # noqa: T201
        "ready: nats, postgres, the migrate step and the services can start; after "
        "`mirror-stage agent enroll` run this again and reload nats twice (docker compose kill "
        "-s HUP nats, then again a second later: a new agent's account is wired at the second)"
    )
    return 0
