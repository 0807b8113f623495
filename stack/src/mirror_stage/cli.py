"""The `mirror-stage` command."""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from mirror_runtime.environment import ConfigError
from mirror_runtime.logs import configure_logging
from mirror_stage.enrollment import enroll_or_revoke
from mirror_stage.layout import stack_layout
from mirror_stage.stack import StackOptions, run_stack


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
    up.add_argument("--no-agent", action="store_true", help="do not run a local agent")
    agent = commands.add_parser("agent", help="enroll or revoke an agent's identity on the bus")
    actions = agent.add_subparsers(dest="action", required=True)
    for action, text in (
        ("enroll", "make the NATS identity of the agent of HOST (its credentials file)"),
        ("revoke", "remove the NATS identity of the agent of HOST; it is cut off at once"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("host", help="the host id (lowercase letters, digits, '_', '-')")
        sub.add_argument("--data-dir", type=Path, default=None, help="the stack's data dir")
    return root


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mirror-stage`."""
    args = parser().parse_args(argv)
    if args.command == "up" and args.simulate < 0:
        parser().error("--simulate takes a number of hosts, 0 or more")
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
    if args.command == "agent":
        return enroll_or_revoke(layout, args.action, args.host)
    return asyncio.run(
        run_stack(layout, StackOptions(simulate=args.simulate, agent=not args.no_agent))
    )


if __name__ == "__main__":
    sys.exit(main())
