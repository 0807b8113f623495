"""The `mirror-stage` command."""

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from mirror_agent.simulate import DEFAULT_INTERVAL_SECONDS as SIMULATE_INTERVAL_SECONDS
from mirror_agent.simulate import MIN_INTERVAL_SECONDS as MIN_SIMULATE_INTERVAL_SECONDS
from mirror_runtime.environment import ConfigError
from mirror_runtime.logs import configure_logging
from mirror_scrape.__main__ import MAX_INTERVAL_SECONDS as MAX_SCRAPE_INTERVAL_SECONDS
from mirror_stage.compose_agents import run_compose_agent
from mirror_stage.compose_init import run_compose_init
from mirror_stage.database import run_migrate_command
from mirror_stage.enrollment import (
    add_or_remove_automation,
    enroll_list,
    enroll_or_revoke,
    export_users,
)
from mirror_stage.join_commands import JOIN_ACTIONS, add_join_commands, run_join_command
from mirror_stage.operators import run_token_command, run_user_command
from mirror_stage.postgres import SHARED_ROOT
from mirror_stage.shared_clusters import PurgeError, purge
from mirror_stage.stack import StackOptions, run_stack
from mirror_stage.stack_layout import StackLayout, stack_layout


def parser() -> argparse.ArgumentParser:
    """Arguments of `mirror-stage`."""
    root = argparse.ArgumentParser(prog="mirror-stage", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up", help="run the whole stack on this machine (embedded NATS and PostgreSQL)"
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where streams, database and logs live (default: $MIRROR_STAGE_DATA_DIR "
        "or ./.mirror-stage)",
    )
    up.add_argument("--simulate", type=int, default=0, metavar="N", help="add N simulated hosts")
    up.add_argument(
        "--simulate-interval",
        type=float,
        default=SIMULATE_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"how often each simulated host sends a sample (default "
        f"{SIMULATE_INTERVAL_SECONDS:g}, at least {MIN_SIMULATE_INTERVAL_SECONDS:g})",
    )
    up.add_argument("--no-agent", action="store_true", help="do not run a local agent")
    up.add_argument(
        "--cluster",
        type=int,
        default=1,
        metavar="N",
        help="run N nats-server nodes clustered on loopback (3 to 5), streams at 3 replicas",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=1,
        metavar="N",
        help="run N processes of each service (1 to 4), sharing consumers and queue groups",
    )
    up.add_argument(
        "--scrape",
        type=Path,
        default=None,
        metavar="FILE",
        help="read the node_exporters listed in FILE (Prometheus file_sd JSON, re-read when "
        "it changes), as hosts without an agent",
    )
    up.add_argument(
        "--scrape-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often each node_exporter is read (default 5, at least 1)",
    )
    made, agent_actions = _identity_commands(
        commands.add_parser("agent", help="enroll or revoke an agent's identity on the bus"),
        ("enroll", "make the NATS identity of the agent of HOST (its credentials file)"),
        ("revoke", "remove the NATS identity of the agent of HOST; it is cut off at once"),
        ("host", "the host id (lowercase letters, digits, '_', '-')"),
        optional_to_make=True,  # or --from FILE (checked in main)
    )
    enroll = made[0]
    enroll.add_argument(
        "--from",
        dest="host_list",
        metavar="FILE",
        default=None,
        help="enroll every host id in FILE (one a line, # comments; - reads standard input) "
        "in one go instead of HOST: a JSON line per new agent on standard output",
    )
    for sub in made:
        sub.add_argument(
            "--nats-url",
            default=None,
            metavar="URL",
            help="the NATS address the agent is told to use (default: the stack's own, "
            "MIRROR_STAGE_NATS_URL): the server's as the agent's host reaches it",
        )
        sub.add_argument(
            "--export",
            type=Path,
            default=None,
            help="a compose stack's exports (/export in its init service): refreshed after",
        )
        sub.add_argument(
            "--owner", default="10001:10001", help="with --export: UID:GID the services run as"
        )
    add_join_commands(agent_actions)
    _identity_commands(
        commands.add_parser(
            "automation", help="add or remove a script's identity: the request endpoints only"
        ),
        ("add", "make the NATS identity of the script NAME (its credentials file)"),
        ("remove", "remove the NATS identity of the script NAME; it is cut off at once"),
        ("name", "lowercase letters, digits, '_', '-'"),
    )
    users = commands.add_parser(
        "nats-users",
        help="write the users block (every identity's permissions) for a nats-server run elsewhere",
    )
    users.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    users.add_argument("--output", type=Path, default=None, help="a file (else standard output)")
    init = commands.add_parser(
        "compose-init",
        help="make what deploy/compose.yaml's containers need: identities, the users block, "
        "the database password (run by its init service)",
    )
    init.add_argument("--data-dir", type=Path, default=None, help="the identities' home")
    init.add_argument(
        "--export", type=Path, required=True, help="one directory per container under this"
    )
    init.add_argument(
        "--owner", default="10001:10001", help="UID:GID the services run as (the image's user)"
    )
    purge = commands.add_parser(
        "purge",
        help="delete a stopped stack's data dir and its PostgreSQL cluster, wherever it is kept",
    )
    purge.add_argument("data_dir", type=Path, metavar="DIR", help="the stack's data dir")
    database = commands.add_parser("db", help="the stack's PostgreSQL database")
    database_actions = database.add_subparsers(dest="action", required=True)
    migrate = database_actions.add_parser(
        "migrate",
        help="with MIRROR_STAGE_DB_URL an administrator's address: make or update the owner and "
        "each service's role, apply every migration as the owner, grant each role its own",
    )
    migrate.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    migrate.add_argument(
        "--passwords",
        type=Path,
        default=None,
        help="the roles' pgpass files, made when missing (default: DATA_DIR/database)",
    )
    migrate.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait this long for the database to take a login first (a server starting beside)",
    )
    migrate.add_argument(
        "--first-admin",
        action="store_true",
        help="make the first admin when there is no user, and print its one-time password",
    )
    roles = ("viewer", "operator", "admin")
    user = commands.add_parser("user", help="operators' logins to the HUD and HTTP APIs")
    user_actions = user.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "make a user; prints a one-time password"),
        ("passwd", "give a user a new one-time password (their sessions end)"),
        ("remove", "delete a user (their sessions end)"),
        ("unlock", "lift a lock-out after failed logins"),
        ("role", "change a user's role (from their next request)"),
    ):
        sub = user_actions.add_parser(action, help=text)
        sub.add_argument("name", help="lowercase letters, digits and '_ . @ -'")
        sub.add_argument("--role", choices=roles, default="operator")
        sub.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    listing = user_actions.add_parser("list", help="the users, their roles and locks")
    listing.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    token = commands.add_parser("token", help="API tokens for scripts (HTTP, Bearer)")
    token_actions = token.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "make a token; prints it once"),
        ("remove", "delete a token; it is refused at once"),
    ):
        sub = token_actions.add_parser(action, help=text)
        sub.add_argument("name", help="lowercase letters, digits and '_ . @ -'")
        sub.add_argument("--role", choices=roles, default="operator")
        sub.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    listing = token_actions.add_parser("list", help="the tokens and when each was last used")
    listing.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    return root


def _identity_commands(
    command: argparse.ArgumentParser,
    make: tuple[str, str],
    remove: tuple[str, str],
    argument: tuple[str, str],
    *,
    optional_to_make: bool = False,
) -> tuple[list[argparse.ArgumentParser], Any]:
    """The make and remove actions of `command`: their parsers, and the actions (to add
    others to)."""
    actions = command.add_subparsers(dest="action", required=True)
    made = []
    for action, text in (make, remove):
        sub = actions.add_parser(action, help=text)
        optional = optional_to_make and action == make[0]
        sub.add_argument(argument[0], help=argument[1], nargs="?" if optional else None)
        sub.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
        made.append(sub)
    return made, actions


def _agent_command(layout: StackLayout, args: argparse.Namespace) -> int:
    """`agent enroll HOST`, `agent enroll --from FILE`, `agent revoke HOST` (each with
    `--export` for a compose stack), or one of the join actions."""
    if args.action in JOIN_ACTIONS:
        return run_join_command(layout, args)
    host_list = getattr(args, "host_list", None)
    if (args.host is None) == (host_list is None):
        parser().error("agent enroll takes a HOST or --from FILE (one of them)")
    if host_list is not None and args.export is not None:
        parser().error("agent enroll --from does not take --export yet: enroll hosts one by one")
    if host_list is not None:
        return enroll_list(layout, host_list, nats_url=args.nats_url)
    if args.export is not None:
        return run_compose_agent(
            layout, args.action, args.host, args.export, args.owner, args.nats_url
        )
    return enroll_or_revoke(layout, args.action, args.host, nats_url=args.nats_url)


def run_purge(data_dir: Path) -> int:
    """`mirror-stage purge DIR`: 0 once removed, 1 with the reason when refused."""
    try:
        removed = purge(data_dir, SHARED_ROOT)
    except PurgeError as exc:
        print(f"mirror-stage purge: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    for path in removed:
        print(f"removed {path}")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mirror-stage`."""
    args = parser().parse_args(argv)
    if args.command == "up" and args.simulate < 0:
        parser().error("--simulate takes a number of hosts, 0 or more")
    if args.command == "up" and not args.simulate_interval >= MIN_SIMULATE_INTERVAL_SECONDS:
        parser().error(
            f"--simulate-interval {args.simulate_interval:g}: at least "
            f"{MIN_SIMULATE_INTERVAL_SECONDS:g} seconds"
        )
    if args.command == "up" and not 1 <= args.scrape_interval <= MAX_SCRAPE_INTERVAL_SECONDS:
        parser().error(f"--scrape-interval {args.scrape_interval:g}: 1 to 86400 seconds")
    if args.command == "up" and args.cluster not in (1, 3, 4, 5):
        # Two nodes lose their majority with either one: no better than one.
        parser().error(f"--cluster {args.cluster}: 1 (no cluster) or 3 to 5 nodes")
    if args.command == "up" and not 1 <= args.replicas <= 4:
        parser().error(f"--replicas {args.replicas}: 1 to 4 processes of each service")
    if args.command == "db" and not args.wait >= 0:
        parser().error(f"--wait {args.wait:g}: a number of seconds, 0 or more")
    try:
        layout = stack_layout(
            os.environ,
            data_dir=args.data_dir,
            log_format="console" if sys.stderr.isatty() else "json",
        )
    except ConfigError as exc:
        print(f"mirror-stage: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging("console")
    if args.command == "purge":
        return run_purge(args.data_dir)
    if args.command == "agent":
        return _agent_command(layout, args)
    if args.command == "automation":
        return add_or_remove_automation(layout, args.action, args.name)
    if args.command == "compose-init":
        return run_compose_init(layout, args.export, args.owner)
    if args.command == "db":
        return run_migrate_command(
            layout, args.passwords, wait_seconds=args.wait, first_admin=args.first_admin
        )
    if args.command == "nats-users":
        return export_users(layout, args.output)
    if args.command == "user":
        return run_user_command(
            layout, args.action, getattr(args, "name", None), getattr(args, "role", "operator")
        )
    if args.command == "token":
        return run_token_command(
            layout, args.action, getattr(args, "name", None), getattr(args, "role", "operator")
        )
    return asyncio.run(
        run_stack(
            layout,
            StackOptions(
                simulate=args.simulate,
                simulate_interval=args.simulate_interval,
                agent=not args.no_agent,
                cluster=args.cluster,
                replicas=args.replicas,
                scrape=args.scrape,
                scrape_interval=args.scrape_interval,
            ),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
