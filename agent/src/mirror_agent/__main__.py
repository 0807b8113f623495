"""mirror-agent: publish this host's telemetry; --once, --check, or `simulate` a fleet."""

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from mirror_agent.agent import Agent
from mirror_agent.check import check
from mirror_agent.config import AgentConfig, AgentConfigError, load_config
from mirror_agent.signals import stop_event
from mirror_schema import codec

ONCE_WINDOW_SECONDS = 0.5


def parser() -> argparse.ArgumentParser:
    """Arguments of `mirror-agent` (the `simulate` subcommand has its own)."""
    root = argparse.ArgumentParser(
        prog="mirror-agent",
        description="REFLECTOR, the MIRROR STAGE host agent. "
        "`mirror-agent simulate --help` for the fleet simulator.",
    )
    root.add_argument("--config", type=Path, help="the agent's TOML file (default: all defaults)")
    mode = root.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="print one sample as JSON and exit")
    mode.add_argument(
        "--check", action="store_true", help="validate the config and connectivity, then exit"
    )
    return root


async def run_until_signalled(agent: Agent) -> None:
    """Run the agent until SIGTERM or SIGINT."""
    await agent.run(stop_event())


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mirror-agent`; a bad config exits 2 with one message naming the key."""
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["simulate"]:
        from mirror_agent.simulate import main as simulate_main

        return simulate_main(args_list[1:])
    args = parser().parse_args(args_list)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(args.config) if args.config else AgentConfig()
    except AgentConfigError as exc:
        print(f"mirror-agent: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if args.check:
        return asyncio.run(check(config))
    agent = Agent(config)
    if args.once:
        # CPU figures are rates: give them a measuring window after the collector primed them.
        time.sleep(ONCE_WINDOW_SECONDS)
        sys.stdout.buffer.write(codec.encode(agent.collect()) + b"\n")
        return 0
    asyncio.run(run_until_signalled(agent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
