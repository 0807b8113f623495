"""The launcher's streams step: every stream made, or brought to today's configuration,
before any service starts."""

from pathlib import Path

import nats.aio.client
import nats.errors
import nats.js.errors
import structlog

from mirror_runtime.retry import until_answered
from mirror_schema import streams
from mirror_schema.stream_rebuild import RebuildError, StreamRebuilder
from mirror_stage.cluster_adoption import restore_exported

log = structlog.get_logger()

STREAMS_READY_SECONDS = 30.0


async def ensure_streams_when_ready(
    nc: nats.aio.client.Client, replicas: int | None, rebuilds_dir: Path
) -> None:
    """Make the streams, or bring them to today's configuration (rebuilding one whose persist
    mode changes). A cluster whose nodes all answer may still be placing its meta group
    ("JetStream system temporarily unavailable", no peers yet for 3 replicas): it is asked
    again for up to STREAMS_READY_SECONDS before the stack gives up with its last answer."""
    rebuilder = StreamRebuilder(nc, rebuilds_dir)

    async def ensure() -> None:
        if replicas is not None and replicas > 1:
            # A single server's streams exported before the cluster started (cluster_adoption).
            restored = await restore_exported(nc, rebuilds_dir, replicas)
            if restored:
                log.info("streams.taken_up_by_cluster", streams=restored)
        await streams.ensure_streams(nc.jetstream(), replicas=replicas, rebuilder=rebuilder)

    await until_answered(
        ensure,
        seconds=STREAMS_READY_SECONDS,
        transient=(nats.js.errors.Error, nats.errors.Error, RebuildError),
        what="the streams",
    )
