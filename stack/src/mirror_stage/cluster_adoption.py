"""A cluster started on a data dir that ran as a single server takes up its streams.

Clustered nats-server nodes do not take up the streams a single server left in the first
node's store: without this step the launcher found them missing and made them anew, empty.
Before the cluster starts, the first node's store runs alone once more; every stream (the
stack's own, the twin's buckets) is written as a snapshot with its consumers and its
configuration into the stream-rebuilds folder, and the single server's stream files are moved
aside (kept, not deleted). Once the cluster answers, each snapshot is restored at the
cluster's replica count, before the services start.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nats
import nats.aio.client
import nats.js.errors
import structlog
from nats.js.api import StreamConfig

from mirror_schema.nats_credentials import credential_options
from mirror_schema.stream_rebuild import StreamRebuilder, snapshot_path, write_snapshot
from mirror_stage.stack_layout import StackLayout
from mirror_stage.supervisor import PartSpec, Supervised

log = structlog.get_logger()


def saved_configs(spool_dir: Path) -> list[tuple[Path, StreamConfig]]:
    """The configurations saved beside exported snapshots, and their files."""
    if not spool_dir.exists():
        return []
    return [
        (path, StreamConfig.from_response(json.loads(path.read_text())))
        for path in sorted(spool_dir.glob("*.config.json"))
    ]


def config_path(spool_dir: Path, name: str) -> Path:
    """The saved configuration of stream `name`'s snapshot."""
    return spool_dir / f"{name}.config.json"


def single_server_streams(store_dir: Path) -> list[Path]:
    """The stream folders of a single server's store that no cluster has taken up yet (a
    clustered server keeps its meta group under $SYS/_js_/_meta_)."""
    jetstream = store_dir / "jetstream"
    if (jetstream / "$SYS" / "_js_" / "_meta_").exists():
        return []
    return sorted(jetstream.glob("*/streams/*"))


async def export_single_server(layout: StackLayout, alone: PartSpec) -> None:
    """When the first node's store holds a single server's streams no cluster has taken up,
    run it alone (`alone`), write every stream's snapshot and configuration to the
    stream-rebuilds folder, and move the stream files aside."""
    store_dir = layout.nats_node_store_dir(1)
    folders = single_server_streams(store_dir)
    if not folders:
        return
    spool_dir = layout.stream_rebuilds_dir
    server = Supervised(alone)
    await server.start()
    written: list[str] = []
    try:
        nc = await nats.connect(
            alone.address, **credential_options(layout.admin_credentials, layout.tls_ca_file)
        )
        try:
            os.makedirs(spool_dir, exist_ok=True)
            for info in await nc.jetstream().streams_info():
                name = info.config.name or ""
                await write_snapshot(nc, name, snapshot_path(spool_dir, name))
                config_path(spool_dir, name).write_text(json.dumps(info.config.as_dict()))
                written.append(name)
        finally:
            await nc.close()
    finally:
        await server.stop()
    kept = set_aside(store_dir, folders, layout.data_dir)
    log.info("streams.exported_for_cluster", streams=written, single_server_files=str(kept))


def set_aside(store_dir: Path, folders: list[Path], backup_root: Path) -> Path:
    """Move the single server's stream folders out of the store (kept under `backup_root`)."""
    backup = backup_root / f"single-server-streams-{time.strftime('%Y%m%dT%H%M%S')}"
    for folder in folders:
        target = backup / folder.relative_to(store_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(target)
    return backup


async def restore_exported(nc: nats.aio.client.Client, spool_dir: Path, replicas: int) -> list[str]:
    """Restore every snapshot saved with its configuration, at `replicas` copies (synced: a
    replicated stream takes its durability from its replicas); the names restored."""
    rebuilder = StreamRebuilder(nc, spool_dir)
    restored: list[str] = []
    for saved, config in saved_configs(spool_dir):
        config.num_replicas = replicas
        config.persist_mode = None
        name = config.name or ""
        try:
            await nc.jetstream().stream_info(name)
        except nats.js.errors.NotFoundError:
            if await rebuilder.restore_pending(config):
                restored.append(name)
        else:
            snapshot_path(spool_dir, name).unlink(missing_ok=True)  # the cluster has it
        saved.unlink()
    return restored
