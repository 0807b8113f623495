"""python -m mirror_scrape --targets FILE: read node_exporters and publish their hosts' samples
until SIGTERM (`mirror-stage up --scrape FILE` runs it as its own identity)."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from mirror_agent.signals import stop_event
from mirror_scrape.scraper import ScrapeOptions, run_scraper

MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 86_400.0  # a sample's interval_seconds may say no more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirror_scrape", description=__doc__)
    parser.add_argument("--targets", type=Path, required=True, help="a file_sd targets file")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    parser.add_argument("--credentials-file", default=None, help="the scraper's NKey seed")
    parser.add_argument("--tls-ca-file", default=None)
    args = parser.parse_args(argv)
    if not MIN_INTERVAL_SECONDS <= args.interval <= MAX_INTERVAL_SECONDS:
        parser.error(
            f"--interval {args.interval:g}: {MIN_INTERVAL_SECONDS:g} to "
            f"{MAX_INTERVAL_SECONDS:g} seconds"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    options = ScrapeOptions(
        targets=args.targets,
        nats_url=args.nats_url,
        interval=args.interval,
        credentials_file=args.credentials_file,
        tls_ca_file=args.tls_ca_file,
    )

    async def run() -> None:
        await run_scraper(options, stop_event())

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
