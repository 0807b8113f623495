"""JetStream streams and durable consumer names, as data, and ``ensure_streams`` to apply them."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from mirror_schema import subjects
from mirror_schema.backoff import Backoff

if TYPE_CHECKING:
    from nats.js import JetStreamManager
    from nats.js.api import StreamConfig

    from mirror_schema.stream_rebuild import StreamRebuilder

__all__ = [
    "ALERTS",
    "BUCKET_ALERTS_LEADER",
    "BUCKET_TWIN_CHECKPOINT",
    "BUCKET_TWIN_CHECKPOINT_WRITER",
    "BUCKET_TWIN_PLACEMENTS",
    "COMMANDS",
    "COMMAND_RESULTS",
    "COMMAND_WITHDRAWALS",
    "CONSUMER_ALERTS",
    "CONSUMER_COMMANDS",
    "CONSUMER_HISTORY",
    "CONSUMER_TWIN",
    "DEADLETTER",
    "DUPLICATE_WINDOW_SECONDS",
    "METRICS",
    "METRICS_SAMPLES_PER_HOST",
    "STREAMS",
    "StreamSpec",
    "ensure_streams",
    "stream_replicas",
    "stream_specs",
]

_DAY: Final = 86_400.0
_GIB: Final = 2**30
# Each stream reserves its max_bytes of the server's storage (nats-server allows 75 % of the
# free disk by default): about 3.25 GiB in all, so the embedded stack starts on small disks.
# METRICS is a transport buffer; the history in PostgreSQL is what keeps samples for long.

# Nats-Msg-Id deduplication window: a publisher retry within it is stored once.
DUPLICATE_WINDOW_SECONDS: Final = 120.0

# Durable consumer names, one per consuming service; its replicas share the consumer.
CONSUMER_TWIN: Final = "twin"
CONSUMER_ALERTS: Final = "alerts"
CONSUMER_HISTORY: Final = "history"
CONSUMER_COMMANDS: Final = "commands"  # on COMMAND_RESULTS

# The key-value buckets (each a stream KV_<name>): the twin's, and the leases that let one
# replica at a time evaluate the alerts or write the twin's checkpoint.
BUCKET_ALERTS_LEADER: Final = "alerts_leader"
BUCKET_TWIN_CHECKPOINT: Final = "twin_checkpoint"
BUCKET_TWIN_CHECKPOINT_WRITER: Final = "twin_checkpoint_writer"
BUCKET_TWIN_PLACEMENTS: Final = "twin_placements"

# METRICS keeps at most this many samples of each host (each its own subject): a week of
# samples at the agent's default 5 s interval, so a host at that pace loses nothing to the
# cap before its samples age out (7 days); one sending faster, or a flood, loses its own
# oldest samples, never another host's. Past it the twin (each host's latest, a replay of at
# most 200,000 samples), the alerts' resume (its snapshot's position, seconds back) and the
# history writer (a PostgreSQL outage up to a week at 5 s) need nothing.
METRICS_SAMPLES_PER_HOST: Final = 7 * 86_400 // 5

# COMMANDS holds one durable consumer per agent (`agent-<host>`, the one name an agent's
# permissions let it make), besides the services': the most hosts that can take commands.
MAX_COMMAND_CONSUMERS: Final = 50_000

_STREAM_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,200}")
_PREFIX_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]+")


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One JetStream stream's configuration, independent of any client library."""

    name: str
    subjects: tuple[str, ...]
    description: str
    max_age_seconds: float
    retention: Literal["limits", "interest", "workqueue"] = "limits"
    storage: Literal["file", "memory"] = "file"
    discard: Literal["old", "new"] = "old"
    # Bounded by age and by size: when full, the oldest messages go first (discard old).
    max_bytes: int = -1
    max_msgs: int = -1
    # Per subject (per host, where the host is in the subject); -1: no limit.
    max_msgs_per_subject: int = -1
    duplicate_window_seconds: float = DUPLICATE_WINDOW_SECONDS
    replicas: int = 1
    # No one removes a message or empties the stream through the API: messages leave by age
    # and size alone, so what was acknowledged is never taken back.
    deny_delete: bool = True
    deny_purge: bool = True
    # Direct get ($JS.API.DIRECT.GET.<stream>.<subject>): a read whose subject, hence what a
    # NATS permission can scope, names what is read.
    allow_direct: bool = False
    # How a single server (1 replica) writes it. "synced": each write reaches the disk before
    # it is acknowledged (the server runs sync_interval: always). "async": acknowledged first,
    # written to the file within milliseconds and synced to disk with the server's periodic
    # sync (ADR-56's async persist mode, nats-server 2.12+), many times faster; a power loss
    # costs what was not yet synced. Replicated streams take their durability from their
    # replicas (nats-server refuses async there) and are always "synced".
    single_server_writes: Literal["synced", "async"] = "synced"
    # How many consumers the stream takes; None: the server's default, which nats-server 2.15
    # sets at 1,000 per stream (`default_max_consumers`) and which a stream can only raise
    # with a limit of its own.
    max_consumers: int | None = None

    @property
    def persist_async(self) -> bool:
        """Whether nats-server is asked to flush this stream asynchronously."""
        return self.single_server_writes == "async" and self.replicas == 1


METRICS: Final = StreamSpec(
    name="METRICS",
    subjects=(subjects.METRICS_RAW_ALL,),
    description="MetricSamples from agents and the ingest",
    max_age_seconds=7 * _DAY,
    max_bytes=2 * _GIB,
    max_msgs_per_subject=METRICS_SAMPLES_PER_HOST,
    single_server_writes="async",
)
COMMANDS: Final = StreamSpec(
    name="COMMANDS",
    subjects=(subjects.COMMANDS_DISPATCH_ALL,),
    description="Commands dispatched to agents",
    max_age_seconds=7 * _DAY,
    max_bytes=_GIB // 4,
    max_consumers=MAX_COMMAND_CONSUMERS,
)
COMMAND_RESULTS: Final = StreamSpec(
    name="COMMAND_RESULTS",
    subjects=(subjects.COMMANDS_RESULT_ALL, subjects.COMMANDS_STATUS_ALL),
    description="CommandStatus reports and final CommandResults from agents",
    max_age_seconds=30 * _DAY,
    max_bytes=_GIB // 2,
)
ALERTS: Final = StreamSpec(
    name="ALERTS",
    subjects=(subjects.ALERTS_EVENTS_ALL,),
    description="AlertEvents from the alerts service",
    max_age_seconds=30 * _DAY,
    max_bytes=_GIB // 4,
)
DEADLETTER: Final = StreamSpec(
    name="DEADLETTER",
    subjects=(subjects.DEAD_LETTER_ALL,),
    description="Messages no consumer could process, with the reason in a header",
    max_age_seconds=14 * _DAY,
    max_bytes=_GIB // 4,
)

COMMAND_WITHDRAWALS: Final = StreamSpec(
    name="COMMAND_WITHDRAWALS",
    subjects=(subjects.COMMANDS_WITHDRAWN_ALL,),
    description="Signed withdrawals of dispatched commands, looked up by agents before running",
    # Outlives any command it withdraws (valid 24 h at most) and its message in COMMANDS.
    max_age_seconds=7 * _DAY,
    max_bytes=_GIB // 16,
    # Full: a withdrawal is refused (the cancel answers 503) rather than an older one dropped.
    discard="new",
    allow_direct=True,
)

STREAMS: Final = (METRICS, COMMANDS, COMMAND_RESULTS, ALERTS, DEADLETTER, COMMAND_WITHDRAWALS)


def stream_specs(
    *, replicas: int = 1, prefix: str = "", subject_prefix: str = ""
) -> tuple[StreamSpec, ...]:
    """Return every stream's spec with ``replicas`` copies (1 alone, 3 in a cluster).

    ``prefix`` is prepended to each stream name (``"T1_"`` -> ``T1_METRICS``) and
    ``subject_prefix`` as leading subject token(s) (``"t1"`` -> ``t1.metrics.raw.>``). Both are
    for tests only, so that several copies of the streams can live on one server; production
    uses neither.
    """
    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    head = ""
    if subject_prefix:
        tokens = subject_prefix.rstrip(".").split(".")
        if not all(_PREFIX_TOKEN_RE.fullmatch(token) for token in tokens):
            raise ValueError(
                f"invalid subject_prefix {subject_prefix!r}: use dot-separated tokens of "
                "letters, digits, '_' and '-', e.g. 't1'"
            )
        head = ".".join(tokens) + "."
    specs = []
    for spec in STREAMS:
        name = prefix + spec.name
        if _STREAM_NAME_RE.fullmatch(name) is None:
            raise ValueError(
                f"invalid stream name {name!r} (prefix {prefix!r}): use letters, digits, "
                "'_' and '-' only"
            )
        specs.append(
            msgspec.structs.replace(
                spec,
                name=name,
                subjects=tuple(head + subject for subject in spec.subjects),
                replicas=replicas,
            )
        )
    return tuple(specs)


def _to_config(spec: StreamSpec) -> StreamConfig:
    from nats.js.api import (
        DiscardPolicy,
        PersistMode,
        RetentionPolicy,
        StorageType,
        StreamConfig,
    )

    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy(spec.retention),
        storage=StorageType(spec.storage),
        discard=DiscardPolicy(spec.discard),
        max_age=spec.max_age_seconds,
        max_bytes=spec.max_bytes,
        max_msgs=spec.max_msgs,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        duplicate_window=spec.duplicate_window_seconds,
        num_replicas=spec.replicas,
        deny_delete=spec.deny_delete,
        deny_purge=spec.deny_purge,
        allow_direct=spec.allow_direct,
        # Unset is nats-server's default (synced with the server's setting).
        persist_mode=PersistMode.ASYNC if spec.persist_async else None,
        max_consumers=spec.max_consumers,
    )


def _differs(current: StreamConfig, spec: StreamSpec) -> bool:
    def seconds(value: float | None) -> float:
        # The server reports durations in nanoseconds; compare at millisecond precision.
        return round(value or 0.0, 3)

    return (
        sorted(current.subjects or []) != sorted(spec.subjects)
        or current.description != spec.description
        or current.retention != spec.retention
        or current.storage != spec.storage
        or current.discard != spec.discard
        or seconds(current.max_age) != seconds(spec.max_age_seconds)
        or seconds(current.duplicate_window) != seconds(spec.duplicate_window_seconds)
        or current.max_bytes != spec.max_bytes
        or current.max_msgs != spec.max_msgs
        or (current.max_msgs_per_subject or -1) != spec.max_msgs_per_subject
        or (current.num_replicas or 1) != spec.replicas
        or bool(current.deny_delete) != spec.deny_delete
        or bool(current.deny_purge) != spec.deny_purge
        or bool(current.allow_direct) != spec.allow_direct
        or _persists_async(current) != spec.persist_async
        or (spec.max_consumers is not None and current.max_consumers != spec.max_consumers)
    )


def _persists_async(current: StreamConfig) -> bool:
    from nats.js.api import PersistMode

    return current.persist_mode == PersistMode.ASYNC


async def ensure_streams(
    js: JetStreamManager,
    *,
    replicas: int | None = None,
    prefix: str = "",
    subject_prefix: str = "",
    update: bool = True,
    rebuilder: StreamRebuilder | None = None,
) -> list[str]:
    """Create each stream, or update it when its config differs; safe to call repeatedly.

    ``replicas``: copies of each stream. None (what the services pass) keeps an existing
    stream's and creates a new one with 1, so a service starting never undoes the replication
    that the launcher of a cluster, or an operator, chose.

    Returns the names of the streams created or updated (empty when all were up to date).
    ``prefix`` and ``subject_prefix`` are for tests only (see :func:`stream_specs`). A change
    the server refuses to apply in place (storage type, retention) raises the server's error.

    ``update=False`` (what the services pass) creates a missing stream but never changes one:
    only the launcher's admin may, so a service's identity needs no right to rewrite a
    stream's limits (which could wipe it); a stream that differs is left as it is.

    A stream whose persist mode changes (nats-server will not change it by an update) is
    given its configuration by ``rebuilder`` (the launcher's), keeping its messages and
    consumers; without one it is left as it is. A stream missing while its rebuild's snapshot
    is on disk (a launcher stopped mid-rebuild) is restored from it rather than made empty.
    """
    from nats.js.errors import NotFoundError

    changed: list[str] = []
    specs = stream_specs(replicas=replicas or 1, prefix=prefix, subject_prefix=subject_prefix)
    for spec in specs:
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            if rebuilder is None or not await rebuilder.restore_pending(_to_config(spec)):
                await add_stream(js, _to_config(spec))
            changed.append(spec.name)
            continue
        if replicas is None:
            spec = msgspec.structs.replace(spec, replicas=info.config.num_replicas or 1)
        if not update or not _differs(info.config, spec):
            continue
        if _persists_async(info.config) != spec.persist_async:
            if rebuilder is None:
                continue
            await rebuilder.rebuild(_to_config(spec))
        else:
            await js.update_stream(_to_config(spec))
        changed.append(spec.name)
    return changed


# nats-server (2.15.1, server/jetstream.go enableJetStream) finishes enabling an account's
# JetStream after it answers the account's API: it makes the account's store directory to see
# that it may write there, then removes it. A stream created in that moment fails with
# "error creating store for stream" (10049) and is made when asked again.
_STORE_RACE: Final = (10049, "error creating store for stream")
STORE_RACE_ATTEMPTS: Final = 5


async def add_stream(js: JetStreamManager, config: StreamConfig) -> None:
    """Create a stream, asking again (bounded) when the server's store was not ready for it."""
    from nats.js.errors import ServerError

    backoff = Backoff(first=0.05, cap=1.0)
    for attempt in range(1, STORE_RACE_ATTEMPTS + 1):
        try:
            await js.add_stream(config)
            return
        except ServerError as exc:
            if (exc.err_code, exc.description) != _STORE_RACE or attempt == STORE_RACE_ATTEMPTS:
                raise
        await asyncio.sleep(backoff.next())


async def stream_replicas(js: JetStreamManager, name: str = METRICS.name) -> int:
    """How many copies the stack keeps of its streams (METRICS's, 1 when it does not exist
    yet): what a service's own buckets keep too, so that a cluster loses none of them with a
    node."""
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return 1
    return info.config.num_replicas or 1
