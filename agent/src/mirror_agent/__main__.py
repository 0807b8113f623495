"""mirror-agent: publish this host's telemetry; --once, --check, or `simulate` a fleet."""

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

import msgspec

from mirror_agent.agent import Agent, identity
from mirror_agent.check import check
from mirror_agent.config import AgentConfig, AgentConfigError, load_config
from mirror_agent.join import JoinError, join
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
    root.add_argument(
        "--join",
        metavar="TOKEN",
        help="join the stack with this join token (as `join_token` in the config)",
    )
    mode = root.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="print one sample as JSON and exit")
    mode.add_argument(
        "--check", action="store_true", help="validate the config and connectivity, then exit"
    )
    return root


async def joined_config(config: AgentConfig) -> AgentConfig:
    """`config` running as the identity a join gave (or gives now): its credentials, its
    ingest token, the commands' signing key and the token's tags, unless the config says."""
    assert config.join_token is not None
    host_id, _ = identity(config)
    joined = await join(
        config.join_token, host_id, Path(config.identity_dir), config.nats_url, config.tls_ca_file
    )
    commands = config.commands
    if commands.signing_public_key is None and joined.signing_public_key is not None:
        commands = msgspec.structs.replace(commands, signing_public_key=joined.signing_public_key)
    return msgspec.structs.replace(
        config,
        credentials_file=joined.credentials_file,
        ingest_token=config.ingest_token or joined.ingest_token,
        tags={**joined.tags, **config.tags},
        commands=commands,
    )


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
    if args.join:
        config = msgspec.structs.replace(config, join_token=args.join, credentials_file=None)
    if args.check:
        return asyncio.run(check(config))
    if config.join_token and not args.once:
        try:
            config = asyncio.run(joined_config(config))
        except JoinError as exc:
            print(f"mirror-agent: {exc}", file=sys.stderr)  # noqa: T201
            return 2
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
