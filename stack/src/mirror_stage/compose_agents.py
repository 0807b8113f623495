"""`mirror-stage agent enroll|revoke HOST --export DIR`: the agents of a compose stack.

Run in deploy/compose.yaml's init service, which holds the identities' volume and every
export (docs/operations.md, "Docker Compose"):

    docker compose -f deploy/compose.yaml run --rm init mirror-stage agent enroll web-01 \\
        --data-dir /state --export /export --nats-url nats://stage.example.com:4222

The identity is made (or removed) in the registry, then the exports are refreshed as the init
service makes them (nats's accounts block, the ingest's tokens). nats runs in another
container, which this one cannot signal: the command says how to make it reload.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from mirror_stage.compose_init import Owner, compose_init
from mirror_stage.enrollment import enroll_or_revoke
from mirror_stage.identity_store import IdentityStore, agent_name
from mirror_stage.stack_layout import StackLayout

RELOAD: Final = (
    "nats takes the change once told to reload twice, a second apart (a new agent's account "
    "is wired at the second):\n"
    "  docker compose -f deploy/compose.yaml kill -s HUP nats   (podman-compose has no kill: "
    "podman kill --signal HUP <project>_nats_1)"
)


def run_compose_agent(
    layout: StackLayout, action: str, host_id: str, export: Path, owner: str, nats_url: str | None
) -> int:
    """The command: the exit code."""
    try:
        who = Owner.parse(owner)
    except ValueError as exc:
        print(f"mirror-stage agent: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if not export.is_dir():
        print(  # noqa: T201
            f"mirror-stage agent: --export {export} is no directory: run this in the compose "
            "file's init service, whose /export holds the containers' files",
            file=sys.stderr,
        )
        return 2
    code = enroll_or_revoke(layout, action, host_id, nats_url=nats_url, not_running=RELOAD)
    if code != 0:
        return code
    compose_init(layout, export, who)
    if action == "enroll":
        seed = IdentityStore(layout.identities_dir).seed_path(agent_name(host_id))
        print(  # noqa: T201
            "the credentials file, from the host:\n"
            f"  docker compose -f deploy/compose.yaml run --rm --no-deps init cat {seed}"
        )
    return 0
