"""`mirror-stage up --scrape FILE`: the scraper as a part of the stack, and its identity kept
to the hosts of its targets file as the file changes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Final

import structlog

from mirror_schema import identities
from mirror_scrape.targets import TargetsError, parse_targets
from mirror_stage.enrollment import publish_users
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import IdentityStore
from mirror_stage.stack_layout import StackLayout
from mirror_stage.supervisor import PartSpec

__all__ = ["allow_scrape_hosts", "follow_targets", "scrape_host_ids", "scrape_spec"]

log = structlog.get_logger()

CHECK_SECONDS: Final = 2.0


def scrape_host_ids(targets: Path) -> list[str]:
    """The host ids of a targets file; TargetsError naming what is wrong."""
    try:
        content = targets.read_bytes()
    except OSError as exc:
        raise TargetsError(f"{targets}: {exc.strerror}") from None
    return [target.host_id for target in parse_targets(content, str(targets))]


def allow_scrape_hosts(layout: StackLayout, host_ids: list[str]) -> bool:
    """Make the scraper's identity (once) and let it publish for `host_ids` alone; whether
    its permissions changed."""
    with identity_lock(layout.identities_dir):
        store = IdentityStore(layout.identities_dir)
        store.ensure(identities.SCRAPER, "scraper")
        return store.set_scrape_hosts(host_ids)


async def follow_targets(layout: StackLayout, targets: Path) -> None:
    """Keep the scraper's permissions to the targets file's hosts as it changes (checked
    every CHECK_SECONDS); a file changed into something invalid keeps the hosts it had."""
    refused: str | None = None
    while True:
        await asyncio.sleep(CHECK_SECONDS)
        try:
            host_ids = await asyncio.to_thread(scrape_host_ids, targets)
        except TargetsError as exc:
            if str(exc) != refused:
                log.error("scrape.targets_refused", error=str(exc))
                refused = str(exc)
            continue
        refused = None
        if await asyncio.to_thread(allow_scrape_hosts, layout, host_ids):
            log.info("scrape.hosts_changed", hosts=len(host_ids))
            await asyncio.to_thread(_publish, layout)


def _publish(layout: StackLayout) -> None:
    with identity_lock(layout.identities_dir):
        publish_users(layout, IdentityStore(layout.identities_dir))


def scrape_spec(
    layout: StackLayout, targets: Path, interval: float, env: dict[str, str]
) -> PartSpec:
    """The scraper (python -m mirror_scrape), as its own identity."""

    async def started() -> bool:
        # A node_exporter that does not answer must not keep the stack from starting: the
        # scraper logs it and the host stays offline.
        return True

    return PartSpec(
        name="scrape",
        argv=[
            sys.executable,
            "-m",
            "mirror_scrape",
            "--targets",
            str(targets),
            "--nats-url",
            layout.nats_urls,
            "--interval",
            str(interval),
            "--credentials-file",
            str(layout.identities_dir / f"{identities.SCRAPER}.nk"),
            *(["--tls-ca-file", layout.tls_ca_file] if layout.tls_ca_file else []),
        ],
        env=env,
        log_path=layout.logs_dir / "scrape.log",
        probe=started,
        address=f"node_exporters listed in {targets}",
    )
