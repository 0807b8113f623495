"""`mirror-stage agent enroll|revoke HOST`: an agent's NATS identity made or taken away.

Both rewrite nats-server's users from the identity registry and, when the stack's server is
running, make it reload them (SIGHUP): a revoked agent is cut off at once, and nobody else is
restarted or disconnected.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec

from mirror_schema import identities
from mirror_schema.errors import InvalidHostId
from mirror_schema.hosts import validate_host_id
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import (
    ADMIN,
    IdentityConflictError,
    IdentityStore,
    agent_name,
    automation_name,
)
from mirror_stage.nats_accounts import accounts_block
from mirror_stage.nats_identities import automation_inbox_prefix
from mirror_stage.natsd import reload
from mirror_stage.parts import SERVICES, SIMULATOR
from mirror_stage.private_files import write_private
from mirror_stage.stack_layout import StackLayout

_ERRORS_SHOWN: Final = 20

__all__ = [
    "add_or_remove_automation",
    "enroll_list",
    "enroll_or_revoke",
    "ensure_stack_identities",
    "export_users",
    "publish_users",
    "reload_running_servers",
]


def ensure_stack_identities(store: IdentityStore, *, simulator: bool | None = False) -> None:
    """The identities of the stack's own parts: the admin and each service (made once, kept
    after); the simulator's, which may publish any host's samples, only when `simulator`
    (`mirror-stage up --simulate N`): False revokes it (its credentials file deleted), None
    leaves it as it is (a command run beside a simulating stack)."""
    store.ensure(ADMIN, "admin")
    for part in SERVICES:
        store.ensure(part.lower(), "service")
    store.ensure(identities.ENROLLER, "enroller")
    if simulator:
        store.ensure(SIMULATOR, "simulator")
    elif simulator is not None:
        store.revoke(SIMULATOR)


def export_users(layout: StackLayout, output: Path | None) -> int:
    """`mirror-stage nats-users`: the accounts block for a nats-server run elsewhere (compose,
    a cluster), to `output` (mode 0600) or standard output; the exit code."""
    store = IdentityStore(layout.identities_dir)
    ensure_stack_identities(store, simulator=None)
    # The simulator is the embedded stack's alone (`up --simulate`), never a deployment's.
    block = accounts_block([user for user in store.users() if user[0].name != SIMULATOR])
    if output is None:
        print(block, end="")  # noqa: T201 - the command's output
        return 0
    write_private(output, block)
    print(  # noqa: T201
        f"wrote {output}: include it in nats-server's config (it is its `accounts` block: "
        "the config may have no other), and after each enroll or revoke reload the server "
        "twice, a second apart (nats-server --signal reload: a new agent's account is wired "
        f"at the second); each service's credentials file is in {layout.identities_dir}"
    )
    return 0


def publish_users(layout: StackLayout, store: IdentityStore) -> bool:
    """Write the users block every node of the stack's NATS includes; reload the running
    nodes. Whether a running server was told."""
    write_users(layout, layout.nats_server_settings(accounts_block(list(store.users()))))
    return reload_running_servers(layout)


def reload_running_servers(layout: StackLayout, *, failures_fatal: bool = False) -> bool:
    """Make every running node of the stack's NATS read its users again; whether one ran
    (with `failures_fatal`: whether every running one said it reloaded)."""
    told = False
    failed = False
    for pid_file in sorted(layout.data_dir.glob("nats*.pid")):
        with contextlib.suppress(OSError, ValueError):
            # Each node's pid file and log are named alike (nats, nats-2...).
            log_path = layout.logs_dir / f"{pid_file.stem}.log"
            if not reload(int(pid_file.read_text().strip()), log_path):
                failed = True
                print(  # noqa: T201
                    f"mirror-stage: nats-server did not say it reloaded; see {log_path}",
                    file=sys.stderr,
                )
            told = True
    return told and not (failures_fatal and failed)


def write_users(layout: StackLayout, settings: str) -> None:
    """The users file, never readable by others (it names every identity)."""
    write_private(layout.nats_users_path, settings)


NOT_RUNNING: Final = "(the stack is not running: it takes the change at its next start)"


def enroll_or_revoke(
    layout: StackLayout,
    action: str,
    host_id: str,
    *,
    nats_url: str | None = None,
    not_running: str = NOT_RUNNING,
) -> int:
    """Run `mirror-stage agent <action> <host_id>`; the exit code. `nats_url` is the address
    the agent is told to use (default: the stack's own, a loopback one for `up`);
    `not_running` is said when no local server was told of the change."""

    def enroll(store: IdentityStore) -> str:
        path = store.enroll_agent(host_id)
        token = store.new_ingest_token(host_id)
        return (
            f"enrolled {host_id}: its credentials file is {path}\n"
            "copy it to the host (mode 0600) and set in the agent's config:\n"
            f'  nats_url = "{nats_url or layout.nats_urls}"\n  host_id = "{host_id}"\n'
            f'  credentials_file = "/etc/mirror-agent/{path.name}"\n'
            "or, for an agent posting over HTTP to the ingest (shown once, keep it secret):\n"
            f'  ingest_token = "{token}"'
        )

    return _change(
        layout, action == "enroll", agent_name, host_id, enroll, "enrolled agent", not_running
    )


class EnrolledAgent(msgspec.Struct, frozen=True, kw_only=True):
    """One line of `agent enroll --from`'s output: what the host's agent needs."""

    host_id: str
    credentials_file: str
    ingest_token: str


def read_host_list(text: str, source: str) -> tuple[list[str], list[str]]:
    """The host ids of a list (one a line; blank lines and `#` comments skipped; repeats
    once), and an error naming the line of each invalid one."""
    found: list[str] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        host = line.split("#", 1)[0].strip()
        if not host:
            continue
        try:
            found.append(validate_host_id(host))
        except InvalidHostId as exc:
            errors.append(f"{source}:{number}: {exc}")
    return list(dict.fromkeys(found)), errors


def enroll_list(layout: StackLayout, source: str, *, nats_url: str | None = None) -> int:
    """`mirror-stage agent enroll --from FILE` (`-`: standard input): every listed host not yet
    enrolled gets its identity and ingest token in one write, and the server reloads once.
    One JSON line per new agent on standard output; the exit code (2: a bad list, nothing done).
    """
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"mirror-stage: cannot read the host list {source}: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    host_ids, errors = read_host_list(text, source)
    if errors:
        shown = "\n".join(errors[:_ERRORS_SHOWN])
        more = (
            f"\n... and {len(errors) - _ERRORS_SHOWN} more" if len(errors) > _ERRORS_SHOWN else ""
        )
        print(f"mirror-stage: nothing enrolled; invalid host ids:\n{shown}{more}", file=sys.stderr)  # noqa: T201
        return 2
    store = IdentityStore(layout.identities_dir)
    with identity_lock(layout.identities_dir):
        made = store.enroll_new_agents(host_ids)
        tokens = store.new_ingest_tokens(made)
        _print_enrolled(store, made, tokens)  # before the reload: nothing shown once is lost
        # Nothing new: the server's users stay as they are, and it is not reloaded.
        told = publish_users(layout, store) if made else True
    kept = len(host_ids) - len(made)
    print(  # noqa: T201
        f"enrolled {len(made)} agents ({kept} listed were enrolled already and are unchanged); "
        f"one JSON line each above, with its ingest token (shown once). Each agent's config: "
        f'nats_url = "{nats_url or layout.nats_urls}", its host_id and credentials_file.'
        + ("" if told else " (the stack is not running: it takes them at its next start)"),
        file=sys.stderr,
    )
    return 0


def _print_enrolled(store: IdentityStore, made: list[str], tokens: dict[str, str]) -> None:
    for host in made:
        line = EnrolledAgent(
            host_id=host,
            credentials_file=str(store.seed_path(agent_name(host))),
            ingest_token=tokens[host],
        )
        sys.stdout.write(msgspec.json.encode(line).decode() + "\n")
    sys.stdout.flush()


def add_or_remove_automation(layout: StackLayout, action: str, name: str) -> int:
    """Run `mirror-stage automation <action> <name>`; the exit code."""

    def add(store: IdentityStore) -> str:
        identity = automation_name(name)
        store.ensure(identity, "automation")
        return (
            f"added {name}: its credentials file is {store.seed_path(identity)}\n"
            "it may send requests to the commands and alerts services, each on "
            f"<endpoint>.{identity} (e.g. commands.request.{identity}): the subject names "
            f"who asks; connect with inbox_prefix={automation_inbox_prefix(name)!r}"
        )

    return _change(layout, action == "add", automation_name, name, add, "automation", NOT_RUNNING)


def _change(
    layout: StackLayout,
    adding: bool,
    identity_of: Callable[[str], str],
    value: str,
    add: Callable[[IdentityStore], str],
    kind: str,
    not_running: str,
) -> int:
    """Add (with `add`, which says what it did) or remove the identity of `value`, then tell
    the server; the exit code (2: a bad name, 1: nothing to remove)."""
    store = IdentityStore(layout.identities_dir)
    try:
        name = identity_of(value)
    except InvalidHostId as exc:
        print(f"mirror-stage: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    with identity_lock(layout.identities_dir):
        if adding:
            try:
                report = add(store)
            except IdentityConflictError as exc:
                print(f"mirror-stage: {exc}", file=sys.stderr)  # noqa: T201
                return 1
        elif store.revoke(name):
            report = f"removed {kind} {value}"
        else:
            print(f"mirror-stage: no {kind} {value!r}", file=sys.stderr)  # noqa: T201
            return 1
        told = publish_users(layout, store)
    print(report)  # noqa: T201
    if not told:
        print(not_running)  # noqa: T201
    return 0
