"""ResultsConsumer: the durable `commands` consumer of COMMAND_RESULTS, moving states forward.

CommandStatus (accepted, running) moves a command to `running`; a CommandResult to its final
state with its output. Transitions only go forward, each applied one writes an event row, and
a message that never decodes is dead-lettered. A fetched batch is split by command into LANES
transactions applied side by side, each command's messages in stream order in one of them (its
status before its result), and acked once its transaction commits: a commit per message held a
fan-out to 1,000 hosts near 700 messages/s.
"""

import asyncio
import contextlib
from typing import Final

import asyncpg
import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
import prometheus_client
import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mirror_commands import metrics, store
from mirror_runtime.deadletter import dead_letter
from mirror_runtime.doors import TRANSIENT
from mirror_runtime.pg import Conn
from mirror_schema import codec, streams, subjects
from mirror_schema.backoff import Backoff
from mirror_schema.commands import CommandResult, CommandState, CommandStatus
from mirror_schema.errors import SchemaError

log = structlog.get_logger()

DURABLE: Final = streams.CONSUMER_COMMANDS
MAX_DELIVER: Final = 10
BATCH: Final = 100
# A fetched batch is applied in this many transactions side by side, each command's messages
# in one of them (in stream order): the rows of different commands are independent.
LANES: Final = 4
FETCH_SECONDS: Final = 1.0
ACK_WAIT_SECONDS: Final = 30.0
RETRY_DELAY_SECONDS: Final = 2.0
MAX_BACKOFF: Final = 20.0  # below ACK_WAIT_SECONDS, so in_progress() keeps the message
_RESULT_PREFIX: Final = subjects.COMMANDS_RESULT_ALL.removesuffix(">")


class _CommandOf(msgspec.Struct):
    command_id: str


_decode_command_of = msgspec.json.Decoder(_CommandOf).decode

# A metric to count once the transition it counts is committed, and its label.
_Count = tuple[prometheus_client.Counter, str]


def _by_command(messages: list[Msg]) -> list[list[Msg]]:
    """The batch's messages grouped by command, each group in stream order; a message whose
    command cannot be read goes alone (it will be dead-lettered)."""
    groups: dict[str, list[Msg]] = {}
    for index, msg in enumerate(messages):
        try:
            key = _decode_command_of(msg.data).command_id
        except (msgspec.ValidationError, msgspec.DecodeError):
            key = f"\0{index}"  # no command id can start with a NUL
        groups.setdefault(key, []).append(msg)
    return list(groups.values())


class Poison(Exception):  # noqa: N818 - a message, not an error of ours
    """A message that can never be applied; carries the reason for the dead letter."""


def _report_of(msg: Msg) -> CommandStatus | CommandResult:
    """The status or result a message carries, of the host its subject names; Poison when it
    is neither or names another host."""
    try:
        host_id = subjects.host_id_from_subject(msg.subject)
        report: CommandStatus | CommandResult = (
            codec.decode_command_result(msg.data)
            if msg.subject.startswith(_RESULT_PREFIX)
            else codec.decode_command_status(msg.data)
        )
    except (msgspec.ValidationError, msgspec.DecodeError, SchemaError) as exc:
        raise Poison(str(exc)) from None
    if report.host_id != host_id:
        raise Poison(f"host_id {report.host_id!r} in the payload is not {host_id!r} of the subject")
    return report


class ResultsConsumer:
    """Pulls COMMAND_RESULTS and applies each message to PostgreSQL; replicas share it."""

    def __init__(self, nc: nats.aio.client.Client, pool: asyncpg.Pool) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.pool = pool
        self._task: asyncio.Task[None] | None = None
        self._subscription: nats.js.JetStreamContext.PullSubscription | None = None
        self._stop = asyncio.Event()
        self.lag = 0

    async def start(self) -> None:
        """Create (or check) the durable consumer and start pulling."""
        config = ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=MAX_DELIVER,
            ack_wait=ACK_WAIT_SECONDS,
        )
        stream = streams.COMMAND_RESULTS.name
        # No filter: both subjects of the stream, status reports and results, in order.
        # Adding a consumer that exists with the same config is a no-op on the server.
        await self.js.add_consumer(stream, config=config)
        subscription = await self.js.pull_subscribe_bind(durable=DURABLE, stream=stream)
        self._subscription = subscription
        self._task = asyncio.create_task(self._run(subscription))

    async def _run(self, subscription: nats.js.JetStreamContext.PullSubscription) -> None:
        while not self._stop.is_set():
            try:
                messages = await subscription.fetch(BATCH, timeout=FETCH_SECONDS)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except nats.errors.Error as exc:
                log.warning("results.fetch_failed", error=str(exc))
                await asyncio.sleep(RETRY_DELAY_SECONDS)
                continue
            lanes: list[list[Msg]] = [[] for _ in range(LANES)]
            for index, group in enumerate(_by_command(messages)):
                lanes[index % LANES].extend(group)
            try:
                await asyncio.gather(*(self._apply_batch(lane) for lane in lanes if lane))
            except Exception:
                # What was not acked comes again after ack_wait; the consumer goes on.
                log.exception("results.batch_crashed", messages=len(messages))
            self.lag = messages[-1].metadata.num_pending if messages else 0

    async def _apply_batch(self, messages: list[Msg]) -> None:
        """Apply a fetched batch in stream order in one transaction, then ack it: one commit
        instead of one per message. A message that can never apply (Poison) is found before
        it writes anything, so it leaves the transaction as it was and is dead-lettered after.
        Any other failure rolls the batch back and every message goes through handle(), one
        at a time per command, with its own retries."""
        applied: list[Msg] = []
        counts: list[_Count] = []
        poisoned: list[tuple[Msg, str]] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                for msg in messages:
                    try:
                        counts.append(await self._apply_on(conn, _report_of(msg)))
                    except Poison as exc:
                        poisoned.append((msg, str(exc)))
                    else:
                        applied.append(msg)
        except Exception as exc:  # noqa: BLE001 - each message is tried again on its own
            log.warning("results.batch_failed", messages=len(messages), error=repr(exc))
            await asyncio.gather(*(self._handle_in_order(group) for group in _by_command(messages)))
            return
        for counter, label in counts:  # only once committed: a fallback counts its own
            counter.labels(label).inc()
        for msg in applied:
            try:
                await msg.ack()
            except nats.errors.Error as exc:
                # Redelivered after ack_wait and applied again: transitions only go forward.
                log.warning("result.ack_failed", subject=msg.subject, error=str(exc))
        for msg, reason in poisoned:
            await self._dead(msg, reason)

    async def _handle_in_order(self, messages: list[Msg]) -> None:
        for msg in messages:
            await self.handle(msg)

    async def handle(self, msg: Msg) -> None:
        """Apply one message, then ack; dead-letter what never will apply.

        While PostgreSQL is unreachable the message is kept in hand and tried again with a
        growing delay: an outage must not use up its deliveries and dead-letter results.
        """
        backoff = Backoff(first=RETRY_DELAY_SECONDS, cap=MAX_BACKOFF)
        while True:
            try:
                await self.apply(msg)
            except Poison as exc:
                await self._dead(msg, str(exc))
                return
            except TRANSIENT as exc:
                if self._stop.is_set():
                    await msg.nak()
                    return
                delay = backoff.next()
                log.warning(
                    "result.waiting", subject=msg.subject, attempt=backoff.failures, error=str(exc)
                )
                with contextlib.suppress(nats.errors.Error):
                    await msg.in_progress()  # keep it ours past ack_wait
                await asyncio.sleep(delay)
                continue
            except Exception as exc:
                log.exception("result.crashed", subject=msg.subject)
                await self._retry(msg, f"unexpected: {exc!r}")
                return
            await msg.ack()
            return

    async def apply(self, msg: Msg) -> None:
        """Decode and apply in a transaction of its own; Poison when the message can never
        be applied."""
        report = _report_of(msg)
        async with self.pool.acquire() as conn, conn.transaction():
            counter, label = await self._apply_on(conn, report)
        counter.labels(label).inc()

    async def _apply_on(self, conn: Conn, report: CommandStatus | CommandResult) -> _Count:
        """Apply `report` in the caller's transaction; the metric to count once it commits."""
        if isinstance(report, CommandStatus):
            moved = await self._apply_status(conn, report)
            state = CommandState.RUNNING
        else:
            moved = await self._apply_result(conn, report)
            state = report.state
        if moved is None:
            return metrics.RESULTS_IGNORED, await self._ignored(
                conn, report.command_id, report.host_id
            )
        return metrics.TRANSITIONS, state.value

    async def _apply_status(self, conn: Conn, status: CommandStatus) -> store.Moved | None:
        moved = await store.move(
            conn,
            status.command_id,
            CommandState.RUNNING,
            host_id=status.host_id,
            started_at=status.timestamp,
        )
        if moved is not None:
            await store.add_event(
                conn,
                status.command_id,
                status.host_id,
                at=status.timestamp,
                event=status.status,
                status=CommandState.RUNNING,
                actor=f"agent:{status.host_id}",
                detail=None if status.pid is None else f"pid {status.pid}",
            )
        return moved

    async def _apply_result(self, conn: Conn, result: CommandResult) -> store.Moved | None:
        columns: dict[str, object] = {
            "finished_at": result.finished_at,
            "exit_code": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "stdout_truncated": result.stdout_truncated,
            "stderr_truncated": result.stderr_truncated,
            "error": result.error,
        }
        if result.started_at is not None:
            columns["started_at"] = result.started_at
        moved = await store.move(
            conn, result.command_id, result.state, host_id=result.host_id, only_from=None, **columns
        )
        if moved is not None:
            outcome = [] if result.exit_code is None else [f"exit code {result.exit_code}"]
            if result.error:
                outcome.append(result.error)
            await store.add_event(
                conn,
                result.command_id,
                result.host_id,
                at=result.finished_at,
                event=result.state.value,
                status=result.state,
                actor=f"agent:{result.host_id}",
                detail="; ".join(outcome) or None,
            )
        return moved

    async def _ignored(self, conn: Conn, command_id: str, host_id: str) -> str:
        """Why a report moved nothing, as RESULTS_IGNORED's label; Poison when it is another
        host's agent reporting."""
        row = await conn.fetchrow("SELECT host_id FROM commands WHERE id = $1", command_id)
        if row is None:
            log.warning("result.unknown_command", command_id=command_id, host_id=host_id)
            return "unknown_command"
        if row["host_id"] != host_id:
            # An agent reporting on another host's command: never applied, kept for a person.
            raise Poison(f"command {command_id!r} belongs to {row['host_id']!r}, not {host_id!r}")
        return "not_forward"

    async def _dead(self, msg: Msg, reason: str) -> None:
        if await dead_letter(self.js, msg, reason, consumer=DURABLE):
            await msg.term()
        else:
            await msg.nak(delay=RETRY_DELAY_SECONDS)

    async def _retry(self, msg: Msg, reason: str) -> None:
        if msg.metadata.num_delivered >= MAX_DELIVER:
            await self._dead(msg, f"gave up after {MAX_DELIVER} deliveries: {reason}")
        else:
            log.warning("result.retry", subject=msg.subject, reason=reason)
            await msg.nak(delay=RETRY_DELAY_SECONDS)

    async def stop(self) -> None:
        """Finish the batch in hand and stop pulling."""
        self._stop.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(FETCH_SECONDS + 10):
                    await self._task
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
