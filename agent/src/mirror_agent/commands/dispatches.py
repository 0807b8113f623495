"""Dispatched commands: decide each one (run, refuse, expire, ignore) and settle its message.

At most once: a command id is written to the journal (fsync'd) before its dispatch message
is acked and before its process starts. A delivery whose id the journal already holds is
acked and nothing else; a command the journal shows as started but never finished (the
agent died while it ran) is reported `failed`, never started again.
"""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import nats.errors
from nats.aio.msg import Msg

from mirror_agent.commands.executor import Execution, Outcome, SpawnError
from mirror_agent.commands.journal import Journal
from mirror_agent.commands.output import LiveOutput
from mirror_agent.commands.policy import Policy, RefusedError
from mirror_agent.commands.publisher import ChunkSender, Publisher
from mirror_agent.commands.reaper import Reaper
from mirror_agent.commands.sandbox import Sandbox
from mirror_agent.commands.settings import CommandSettings
from mirror_agent.commands.withdrawals import WithdrawalLookupError, Withdrawals
from mirror_schema import codec
from mirror_schema.command_signing import (
    CLOCK_SKEW_SECONDS,
    MAX_VALIDITY_SECONDS,
    SignatureError,
    verify_command,
)
from mirror_schema.commands import Command, CommandCancelReply, CommandResult, CommandState

log = logging.getLogger(__name__)

RESTARTED = "agent restarted during execution"
STOPPED = "agent stopped during execution"
NAK_DELAY_SECONDS = 5.0
# Whatever a command asks for, each stream keeps at most this much (memory, message size).
MAX_OUTPUT_BYTES = 512 * 1024


@dataclass
class CommandStats:
    """What the command loop did, for logs and tests."""

    received: int = 0
    started: int = 0
    rejected: int = 0
    expired: int = 0
    duplicates: int = 0
    forged: int = 0  # unsigned, or a signature that does not verify: dead-lettered
    dead_lettered: int = 0
    bad_cancels: int = 0
    journal_full: int = 0  # times the loop waited for the journal to make room
    withdrawn: int = 0  # the commands service took it back (signed) before it ran


class DispatchedCommands:
    """The command loop's decisions; the loop feeds it messages."""

    def __init__(
        self,
        config: CommandSettings,
        *,
        host_id: str,
        journal: Journal,
        policy: Policy,
        sandbox: Sandbox,
        publisher: Publisher,
        withdrawals: Withdrawals,
        reaper: Reaper | None = None,
    ) -> None:
        self.config = config
        self.reaper = reaper
        self.host_id = host_id
        self.journal = journal
        self.policy = policy
        self.sandbox = sandbox
        self.publisher = publisher
        self.withdrawals = withdrawals
        # command_settings_error and the agent checked it is there before the loop started.
        assert config.signing_public_key is not None
        self.public_key = config.signing_public_key
        self.stats = CommandStats()
        self.running: dict[str, Execution] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self._full = False

    def running_count(self) -> int:
        """Commands holding a slot (spawning, running, or being stopped)."""
        return len(self.running)

    def has_room(self) -> bool:
        """Whether the journal may take another command: it never forgets the id of a command
        that could still run, so when it holds `journal_max_entries` of them the loop waits
        (the commands stay in the stream) until the oldest expire."""
        room = self.journal.has_room()
        if not room:
            self.stats.journal_full += 1
            if not self._full:
                log.warning(
                    "commands.journal_full entries=%d: no new command until ids expire",
                    len(self.journal.entries),
                )
        elif self._full:
            log.info("commands.journal_room entries=%d", len(self.journal.entries))
        self._full = not room
        return room

    async def slot_freed(self) -> None:
        """Return when a running command next gives its slot back."""
        self._freed.clear()
        await self._freed.wait()

    def recover(self) -> None:
        """After a start: report what the last run left open, before taking anything new."""
        now = datetime.now(UTC)
        for command_id, entry in self.journal.interrupted():
            log.warning("command.interrupted command_id=%s started_at=%s", command_id, entry.at)
            result = CommandResult(
                command_id=command_id,
                host_id=entry.host_id or self.host_id,
                state=CommandState.FAILED,
                finished_at=now,
                started_at=entry.started_at,
                error=RESTARTED,
            )
            self.journal.record_result(result)
        for result in self.journal.unreported():
            self._spawn(self._report(result))

    async def on_dispatch(self, msg: Msg) -> None:
        """Decide one commands.dispatch message and settle it; never raises."""
        self.stats.received += 1
        try:
            await self._dispatch(msg)
        except Exception:
            log.exception("command.handler_failed subject=%s", msg.subject)
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=NAK_DELAY_SECONDS)

    async def _dispatch(self, msg: Msg) -> None:
        try:
            command = codec.decode_command(msg.data)
        except msgspec.DecodeError as exc:
            await self._dead_letter(msg, f"not a valid Command: {exc}")
            return
        if command.host_id != self.host_id:
            await self._dead_letter(
                msg, f"command {command.id} is for host {command.host_id!r}, not {self.host_id!r}"
            )
            return
        try:
            verify_command(command, self.public_key)
        except SignatureError as exc:
            # Not from the commands service (or altered): it leaves no trace in the journal, so
            # a forged id cannot block the genuine command; the dead letter is its record.
            self.stats.forged += 1
            log.warning("command.refused_unsigned command_id=%s reason=%s", command.id, exc)
            await self._dead_letter(msg, f"refused: {exc}")
            return
        if command.id in self.running or self.journal.get(command.id) is not None:
            self.stats.duplicates += 1
            log.info("command.duplicate command_id=%s", command.id)
            await _ack(msg)
            return
        now = datetime.now(UTC)
        expires_at = command.expires_at or (
            command.created_at + timedelta(seconds=self.config.max_age_seconds)
        )
        longest = now + timedelta(seconds=MAX_VALIDITY_SECONDS + CLOCK_SKEW_SECONDS)
        if expires_at > longest:
            # Only a misbehaving signer makes one: its journal entry (until expires_at) keeps
            # a replay from running it once it falls within the day.
            self.stats.rejected += 1
            reason = (
                f"expires_at: {expires_at.isoformat()} is more than {MAX_VALIDITY_SECONDS} s "
                f"(+{CLOCK_SKEW_SECONDS} s of clock skew) ahead of this host's clock "
                f"({now.isoformat()}); a signed command is valid 24 h at most"
            )
            await self._settle_unrun(msg, command, CommandState.REJECTED, reason)
            return
        if now > expires_at:
            self.stats.expired += 1
            reason = f"expired at {expires_at.isoformat()} before this agent took it"
            await self._settle_unrun(msg, command, CommandState.EXPIRED, reason)
            return
        if await self._withdrawn(msg, command):
            return
        try:
            argv = self.policy.argv_for(command.command)
        except RefusedError as exc:
            self.stats.rejected += 1
            await self._settle_unrun(msg, command, CommandState.REJECTED, exc.reason)
            return
        try:
            self.journal.record_started(command.id, self.host_id, now, expires_at=expires_at)
        except OSError as exc:
            log.error("command.journal_failed command_id=%s error=%s", command.id, exc)
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=NAK_DELAY_SECONDS)
            return
        live = LiveOutput(ChunkSender(self.publisher, command.id))
        execution = Execution(
            argv,
            sandbox=self.sandbox,
            timeout_seconds=command.timeout_seconds,
            output_limit_bytes=min(command.output_limit_bytes, MAX_OUTPUT_BYTES),
            kill_grace_seconds=self.config.kill_grace_seconds,
            on_output=live.feed,
            reaper=self.reaper,
        )
        # Registered before the ack (an await): a cancel arriving meanwhile finds it.
        self.running[command.id] = execution
        await _ack(msg)
        self.stats.started += 1
        log.info("command.accepted command_id=%s argv=%s", command.id, argv)
        self._spawn(self._run(command, execution, live))

    async def _withdrawn(self, msg: Msg, command: Command) -> bool:
        """Whether `command` must not run: the commands service withdrew it (signed; it is
        settled `cancelled`), the bus cannot tell (nak'd, to ask again), or a cancel settled
        it during the lookup. False: it may run."""
        try:
            withdrawal = await self.withdrawals.find(command.id)
        except WithdrawalLookupError as exc:
            log.warning("command.withdrawal_unknown command_id=%s error=%s", command.id, exc)
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=NAK_DELAY_SECONDS)
            return True
        if withdrawal is not None:
            self.stats.withdrawn += 1
            who = withdrawal.requested_by or "an operator"
            reason = f"withdrawn by {who} before this agent took it"
            await self._settle_unrun(msg, command, CommandState.CANCELLED, reason)
            return True
        if command.id in self.running or self.journal.get(command.id) is not None:
            # A cancel request settled it while the lookup was under way.
            self.stats.duplicates += 1
            await _ack(msg)
            return True
        return False

    async def _run(self, command: Command, execution: Execution, live: LiveOutput) -> None:
        try:
            try:
                pid = await execution.start()
            except SpawnError as exc:
                now = datetime.now(UTC)
                outcome = Outcome(
                    CommandState.FAILED, None, "", "", False, False, now, now, error=str(exc)
                )
            else:
                sending = asyncio.create_task(live.run())
                await self.publisher.running(command.id, pid)
                try:
                    outcome = await execution.wait()
                finally:
                    sending.cancel()
                    await asyncio.gather(sending, return_exceptions=True)
                await live.finish()
            result = _result_of(command, self.host_id, outcome)
            self.journal.record_result(result)
        finally:
            execution.kill()  # cancelled mid-way (a stop past its grace): leave nothing behind
            del self.running[command.id]
            self._freed.set()
        log.info(
            "command.finished command_id=%s state=%s exit_code=%s",
            command.id,
            result.state,
            result.exit_code,
        )
        await self._report(result)

    async def on_cancel(self, msg: Msg) -> None:
        """Answer a CommandCancel on commands.cancel.<host>; stop the command if it runs here."""
        try:
            await self._cancel(msg)
        except Exception:
            log.exception("command.cancel_failed subject=%s", msg.subject)

    async def _cancel(self, msg: Msg) -> None:
        try:
            cancel = codec.decode_command_cancel(msg.data)
        except msgspec.DecodeError as exc:
            self.stats.bad_cancels += 1
            log.warning("command.bad_cancel reason=%s", exc)
            return
        execution = self.running.get(cancel.command_id)
        if execution is not None:
            who = cancel.requested_by or "an operator"
            execution.stop(CommandState.CANCELLED, f"cancelled by {who}")
            reply = CommandCancelReply(command_id=cancel.command_id, cancelled=True)
            log.info("command.cancelling command_id=%s by=%s", cancel.command_id, who)
        elif self.journal.get(cancel.command_id) is not None:
            reply = CommandCancelReply(
                command_id=cancel.command_id,
                cancelled=False,
                error=f"command {cancel.command_id} has already finished on host {self.host_id}",
            )
        else:
            # Not received yet (still waiting in the stream for this agent): settled now as
            # cancelled, so that when it arrives it is a duplicate and never runs.
            who = cancel.requested_by or "an operator"
            result = CommandResult(
                command_id=cancel.command_id,
                host_id=self.host_id,
                state=CommandState.CANCELLED,
                finished_at=datetime.now(UTC),
                error=f"cancelled by {who} before it started",
            )
            self.journal.record_result(result)
            self._spawn(self._report(result))
            reply = CommandCancelReply(command_id=cancel.command_id, cancelled=True)
            log.info("command.cancelled_before_start command_id=%s by=%s", cancel.command_id, who)
        if msg.reply:
            with contextlib.suppress(nats.errors.Error):
                await msg.respond(codec.encode(reply))

    async def shutdown(self, grace_seconds: float) -> None:
        """Stop every running command, then give results `grace_seconds` to be published."""
        for execution in self.running.values():
            execution.stop(CommandState.FAILED, STOPPED)
        if self._tasks:
            await asyncio.wait(
                set(self._tasks), timeout=self.config.kill_grace_seconds + grace_seconds
            )
        for task in list(self._tasks):
            task.cancel()  # unreported results stay in the journal for the next start
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _settle_unrun(
        self, msg: Msg, command: Command, state: CommandState, reason: str
    ) -> None:
        log.warning("command.not_run command_id=%s state=%s reason=%s", command.id, state, reason)
        result = CommandResult(
            command_id=command.id,
            host_id=self.host_id,
            state=state,
            finished_at=datetime.now(UTC),
            error=reason,
        )
        self.journal.record_result(result, expires_at=command.expires_at)
        await _ack(msg)
        self._spawn(self._report(result))

    async def _report(self, result: CommandResult) -> None:
        await self.publisher.result(result)
        self.journal.record_reported(result.command_id, datetime.now(UTC))

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        self.stats.dead_lettered += 1
        with contextlib.suppress(nats.errors.Error):
            if await self.publisher.dead_letter(msg, reason):
                await msg.term()  # redelivery cannot fix it
            else:
                await msg.nak(delay=NAK_DELAY_SECONDS)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug, not bad input: the journal still shows the command as started, so
            # the next start reports it failed rather than leaving it open.
            log.error("command.task_failed", exc_info=task.exception())


def _result_of(command: Command, host_id: str, outcome: Outcome) -> CommandResult:
    return CommandResult(
        command_id=command.id,
        host_id=host_id,
        state=outcome.state,
        finished_at=outcome.finished_at,
        exit_code=outcome.exit_code,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        started_at=outcome.started_at,
        error=outcome.error,
    )


async def _ack(msg: Msg) -> None:
    with contextlib.suppress(nats.errors.Error):
        await msg.ack()
