"""Publisher: statuses and results to JetStream (deduplicated), live output, dead letters."""

import asyncio
import logging
from datetime import UTC, datetime

import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg

from mirror_agent.commands.output import Stream
from mirror_schema import codec, subjects
from mirror_schema.backoff import Backoff
from mirror_schema.commands import CommandResult, CommandStatus, OutputChunk

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 2.0
FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0
# Headers of a dead letter, as the services write them (mirror_runtime.deadletter).
REASON_HEADER = "Mirror-Dead-Letter-Reason"
CONSUMER_HEADER = "Mirror-Dead-Letter-Consumer"
MAX_REASON_CHARS = 1000

# Kept free of a message's max_payload for headers and the protocol line.
PAYLOAD_HEADROOM = 4096

_BUS_ERRORS = (nats.errors.Error, nats.js.errors.Error, TimeoutError)


def fit(result: CommandResult, max_bytes: int) -> CommandResult:
    """`result` with its output cut (and flagged truncated) until it encodes in `max_bytes`.

    A command may ask for more output than one NATS message carries; a result that can never
    be published would never be reported.
    """
    while len(codec.encode(result)) > max_bytes and (result.stdout or result.stderr):
        if len(result.stdout) >= len(result.stderr):
            cut = result.stdout[: len(result.stdout) // 2]
            result = msgspec.structs.replace(result, stdout=cut, stdout_truncated=True)
        else:
            cut = result.stderr[: len(result.stderr) // 2]
            result = msgspec.structs.replace(result, stderr=cut, stderr_truncated=True)
    return result


def running_msg_id(command_id: str) -> str:
    """Nats-Msg-Id of a command's `running` status."""
    return f"{command_id}:running"


def result_msg_id(command_id: str) -> str:
    """Nats-Msg-Id of a command's final result."""
    return f"{command_id}:result"


class Publisher:
    """Everything the command loop sends, on one NATS connection."""

    def __init__(self, nc: nats.aio.client.Client, *, host_id: str, consumer: str) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.host_id = host_id
        self.consumer = consumer

    async def _publish(self, subject: str, payload: bytes, msg_id: str) -> bool:
        try:
            await self.js.publish(
                subject, payload, headers={"Nats-Msg-Id": msg_id}, timeout=PUBLISH_TIMEOUT_SECONDS
            )
        except _BUS_ERRORS as exc:
            log.info("command.publish_failed subject=%s msg_id=%s error=%r", subject, msg_id, exc)
            return False
        return True

    async def running(self, command_id: str, pid: int, *, attempts: int = 3) -> bool:
        """Publish the `running` status (a few attempts: it is progress, not the outcome)."""
        status = CommandStatus(
            command_id=command_id,
            host_id=self.host_id,
            status="running",
            timestamp=datetime.now(UTC),
            pid=pid,
        )
        subject = subjects.commands_status(self.host_id)
        backoff = Backoff(first=FIRST_BACKOFF_SECONDS, cap=MAX_BACKOFF_SECONDS)
        for attempt in range(1, attempts + 1):
            if await self._publish(subject, codec.encode(status), running_msg_id(command_id)):
                return True
            if attempt < attempts:
                await asyncio.sleep(backoff.next())
        return False

    async def result(self, result: CommandResult) -> None:
        """Publish `result` until JetStream acknowledges it (cancel the task to give up)."""
        subject = subjects.commands_result(result.host_id)
        payload = codec.encode(fit(result, self.nc.max_payload - PAYLOAD_HEADROOM))
        backoff = Backoff(first=FIRST_BACKOFF_SECONDS, cap=MAX_BACKOFF_SECONDS)
        msg_id = result_msg_id(result.command_id)
        while True:
            if await self._publish(subject, payload, msg_id):
                return
            await asyncio.sleep(backoff.next())

    async def output(self, command_id: str, seq: int, stream: Stream, text: str) -> None:
        """One live OutputChunk on core NATS (not stored; lost if nobody listens)."""
        chunk = OutputChunk(
            command_id=command_id,
            host_id=self.host_id,
            stream=stream,
            seq=seq,
            data=text,
            timestamp=datetime.now(UTC),
        )
        try:
            await self.nc.publish(
                subjects.commands_output(self.host_id, command_id), codec.encode(chunk)
            )
        except _BUS_ERRORS as exc:
            log.debug("command.output_dropped command_id=%s error=%r", command_id, exc)

    async def dead_letter(self, msg: Msg, reason: str) -> bool:
        """Park `msg` on deadletter.<subject> with `reason`; False if that failed too."""
        headers = {REASON_HEADER: reason[:MAX_REASON_CHARS], CONSUMER_HEADER: self.consumer}
        original_id = (msg.headers or {}).get("Nats-Msg-Id")
        if original_id:
            headers["Nats-Msg-Id"] = f"dead:{self.consumer}:{original_id}"
        try:
            await self.js.publish(
                subjects.dead_letter(msg.subject),
                msg.data,
                headers=headers,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except _BUS_ERRORS as exc:
            log.error("command.dead_letter_failed subject=%s error=%r", msg.subject, exc)
            return False
        log.warning("command.dead_lettered subject=%s reason=%s", msg.subject, reason)
        return True


class ChunkSender:
    """Numbers a command's live chunks (both streams together, from 0) and sends them."""

    def __init__(self, publisher: Publisher, command_id: str) -> None:
        self.publisher = publisher
        self.command_id = command_id
        self.seq = 0

    async def __call__(self, stream: Stream, text: str) -> None:
        seq, self.seq = self.seq, self.seq + 1
        await self.publisher.output(self.command_id, seq, stream, text)
