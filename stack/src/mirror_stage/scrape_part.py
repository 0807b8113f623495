"""`mirror-stage up --scrape FILE`: the scraper as a part of the stack, and its identity kept
to the hosts of its targets file as the file changes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Collection
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
NARROW_AFTER_ROUNDS: Final = 3


def scrape_host_ids(targets: Path) -> list[str]:
    """The host ids of a targets file; TargetsError naming what is wrong."""
    try:
        content = targets.read_bytes()
    except OSError as exc:
        raise TargetsError(f"{targets}: {exc.strerror}") from None
    return [target.host_id for target in parse_targets(content, str(targets))]


def allow_scrape_hosts(layout: StackLayout, host_ids: Collection[str]) -> bool:
    """Make the scraper's identity (once) and let it publish for `host_ids` alone, but never
    for a host enrolled with an agent of its own (it would speak as that agent); whether its
    permissions changed."""
    with identity_lock(layout.identities_dir):
        store = IdentityStore(layout.identities_dir)
        store.ensure(identities.SCRAPER, "scraper")
        agents = set(store.agents())
        taken = sorted(agents.intersection(host_ids))
        if taken:
            log.error(
                "scrape.hosts_refused",
                hosts=taken,
                reason="enrolled with an agent of their own; give the targets other host_id labels",
            )
        return store.set_scrape_hosts([host for host in host_ids if host not in agents])


async def follow_targets(layout: StackLayout, targets: Path, interval: float) -> None:
    """Keep the scraper's permissions to the targets file's hosts as the file changes
    (checked every CHECK_SECONDS): a host added is allowed at once; a host taken out only
    NARROW_AFTER_ROUNDS rounds later, once the scraper has stopped sending its samples (one
    refused sample would hold up every host's behind it). A file changed into something
    invalid keeps the hosts it had; no failure here stops the stack."""
    allowed = set(await asyncio.to_thread(scrape_host_ids, targets))
    leaving: dict[str, float] = {}
    refused: str | None = None
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(CHECK_SECONDS)
        try:
            listed = set(await asyncio.to_thread(scrape_host_ids, targets))
        except TargetsError as exc:
            if str(exc) != refused:
                log.error("scrape.targets_refused", error=str(exc))
                refused = str(exc)
            continue
        refused = None
        now = loop.time()
        for host in allowed - listed:
            leaving.setdefault(host, now + NARROW_AFTER_ROUNDS * interval + CHECK_SECONDS)
        for host in listed:
            leaving.pop(host, None)
        gone = {host for host, when in leaving.items() if when <= now}
        wanted = (allowed | listed) - gone
        if wanted == allowed:
            continue
        try:
            if await asyncio.to_thread(allow_scrape_hosts, layout, wanted):
                await asyncio.to_thread(_publish, layout)
            allowed = wanted
            for host in gone:
                del leaving[host]
            log.info("scrape.hosts_changed", hosts=len(wanted))
        except Exception:
            log.exception("scrape.hosts_not_changed")


def _publish(layout: StackLayout) -> None:
    with identity_lock(layout.identities_dir):
        if not publish_users(layout, IdentityStore(layout.identities_dir)):
            raise RuntimeError("no nats-server of the stack took the scraper's new hosts")


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
