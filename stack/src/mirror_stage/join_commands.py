"""`mirror-stage agent join-token create|list|revoke`, `agent pending|approve|reject` and
`agent join-audit`: join tokens and the joins made with them."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from mirror_stage.enrollment import publish_users
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import IdentityStore
from mirror_stage.join_tokens import JoinStore
from mirror_stage.joining import approve, reject
from mirror_stage.stack_layout import StackLayout

__all__ = ["JOIN_ACTIONS", "add_join_commands", "parse_duration", "run_join_command"]

JOIN_ACTIONS: Final = ("join-token", "pending", "approve", "reject", "join-audit")
_DURATION: Final = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_USES: Final = 100_000
MAX_LIFETIME: Final = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `24h`, `7d`: at least a second, at most a year."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration such as 90s, 30m, 24h or 7d")
    lifetime = timedelta(seconds=int(found[1]) * _UNIT_SECONDS[found[2]])
    if not timedelta(seconds=1) <= lifetime <= MAX_LIFETIME:
        raise argparse.ArgumentTypeError(f"{text!r}: from 1s to 365d")
    return lifetime


def _uses(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_USES:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 1 to {MAX_USES:,}")
    return int(text)


def _tag(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key or len(key) > 64 or len(value) > 256:
        raise argparse.ArgumentTypeError(f"{text!r}: a tag is KEY=VALUE")
    return key, value


def add_join_commands(actions: Any) -> None:
    """The join actions, beside `agent enroll` and `revoke`."""

    def data_dir(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")

    tokens = actions.add_parser("join-token", help="tokens hosts join with by themselves")
    token_actions = tokens.add_subparsers(dest="join_action", required=True)
    create = token_actions.add_parser(
        "create", help="a token agents join with (`mirror-agent --join TOKEN`); shown once"
    )
    create.add_argument("--uses", type=_uses, default=1, help="how many hosts (default 1)")
    create.add_argument(
        "--expires", type=parse_duration, default=timedelta(hours=24), help="default 24h"
    )
    create.add_argument("--tags", type=_tag, nargs="*", default=[], metavar="KEY=VALUE")
    create.add_argument(
        "--approval", action="store_true", help="each join waits for `agent approve HOST`"
    )
    data_dir(create)
    data_dir(token_actions.add_parser("list", help="every token, its uses and expiry"))
    revoke = token_actions.add_parser("revoke", help="no more joins with this token")
    revoke.add_argument("token_id", metavar="ID")
    data_dir(revoke)
    data_dir(actions.add_parser("pending", help="joins waiting for approval, and rejected"))
    for action, text in (
        ("approve", "enroll the host whose join waits for approval"),
        ("reject", "refuse the host whose join waits for approval"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("host", help="the host id")
        data_dir(sub)
    data_dir(actions.add_parser("join-audit", help="every decision on a join, oldest first"))


def run_join_command(layout: StackLayout, args: argparse.Namespace) -> int:
    """Run one join action; the exit code."""
    joins = JoinStore(layout.identities_dir)
    if args.action == "join-token":
        actions = {"create": _create, "revoke": _revoke, "list": _list_tokens}
        return actions[args.join_action](layout, joins, args)
    if args.action == "pending":
        return _list_pending(joins)
    if args.action == "join-audit":
        return _list_audit(joins)
    return _decide(layout, args.action, args.host)


def _create(layout: StackLayout, joins: JoinStore, args: argparse.Namespace) -> int:
    with identity_lock(layout.identities_dir):
        token, kept = joins.create(
            uses=args.uses, lifetime=args.expires, tags=dict(args.tags), approval=args.approval
        )
    told = _tell_server(layout)
    print(token)  # noqa: T201 - the command's output
    waits = ", each join waiting for `mirror-stage agent approve HOST`" if kept.approval else ""
    print(  # noqa: T201
        f"join token {kept.id}: {kept.max_uses} host(s) until "
        f"{kept.expires_at.isoformat(timespec='seconds')}{waits}. Shown once. On a host: "
        f'mirror-agent --join TOKEN, or join_token = "TOKEN" in its config, with '
        f'nats_url = "{layout.nats_urls}"' + _not_running(told),
        file=sys.stderr,
    )
    return 0


def _revoke(layout: StackLayout, joins: JoinStore, args: argparse.Namespace) -> int:
    with identity_lock(layout.identities_dir):
        found = joins.revoke(args.token_id)
    if not found:
        print(f"mirror-stage: no join token {args.token_id!r}", file=sys.stderr)  # noqa: T201
        return 1
    told = _tell_server(layout)
    print(f"revoked join token {args.token_id}{_not_running(told)}")  # noqa: T201
    return 0


def _list_tokens(_layout: StackLayout, joins: JoinStore, _args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    for listed in joins.tokens():
        state = listed.problem(now) or "admits"
        tags = " ".join(f"{k}={v}" for k, v in listed.tags.items())
        print(  # noqa: T201
            f"{listed.id}  {listed.used}/{listed.max_uses} used  expires "
            f"{listed.expires_at.isoformat(timespec='seconds')}  "
            f"{'approval ' if listed.approval else ''}{state}  {tags}".rstrip()
        )
    return 0


def _list_pending(joins: JoinStore) -> int:
    for join in joins.pending():
        print(  # noqa: T201
            f"{join.host_id}  {join.state}  token {join.token_id}  asked "
            f"{join.asked_at.isoformat(timespec='seconds')}  key {join.public_key}"
        )
    return 0


def _list_audit(joins: JoinStore) -> int:
    for entry in joins.audit_entries():
        print(  # noqa: T201
            f"{entry.at.isoformat(timespec='seconds')}  {entry.outcome}  {entry.host_id}  "
            f"token {entry.token_id}  {entry.detail}"
        )
    return 0


def _decide(layout: StackLayout, action: str, host: str) -> int:
    problem = (approve if action == "approve" else reject)(layout, host)
    if problem is not None:
        print(f"mirror-stage: {problem}", file=sys.stderr)  # noqa: T201
        return 1
    told = _tell_server(layout) if action == "approve" else True
    print(f"{action}d the join of {host}{_not_running(told)}")  # noqa: T201
    return 0


def _tell_server(layout: StackLayout) -> bool:
    with identity_lock(layout.identities_dir):
        return publish_users(layout, IdentityStore(layout.identities_dir))


def _not_running(told: bool) -> str:
    return "" if told else " (the stack is not running: it takes this at its next start)"
