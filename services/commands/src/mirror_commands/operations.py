"""CommandsApi: create, get, list, cancel, retry, dispatch and expire; both doors call these
(mirror_commands.endpoints pairs each declared operation with its function)."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import nats.aio.client
import nats.errors
import structlog
from nats.js.client import JetStreamContext

from mirror_commands import ids, labels, metrics, state, store
from mirror_commands.config import CommandsConfig
from mirror_commands.directory import HostDirectory, Target, selecting
from mirror_commands.dispatcher import PUBLISH_TIMEOUT_SECONDS, Dispatcher
from mirror_commands.errors import UnknownCommandError, UnknownLabelsError
from mirror_commands.query import host_ids_for
from mirror_runtime.requests import ask_for_reply
from mirror_schema import codec, subjects
from mirror_schema.command_api import (
    CancelCommandRequest,
    CancelOutcome,
    CommandPage,
    CommandRecord,
    DeleteHostLabelsRequest,
    HostLabels,
    KnownHost,
    ListCommandsRequest,
    RetryCommandRequest,
    SetHostLabelsRequest,
    SigningKeyReply,
)
from mirror_schema.command_signing import ALGORITHM, SigningKey, sign_withdrawal
from mirror_schema.commands import (
    CommandCancel,
    CommandCancelReply,
    CommandRequest,
    CommandWithdrawal,
)
from mirror_schema.commands import CommandState as S

log = structlog.get_logger()


def utc_now() -> datetime:
    """The service's clock."""
    return datetime.now(UTC)


class CommandsApi:
    """The service's operations over PostgreSQL, the bus and the host directory."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        nc: nats.aio.client.Client,
        directory: HostDirectory,
        config: CommandsConfig,
        signing_key: SigningKey,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.signing_key = signing_key
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.directory = directory
        self.config = config
        self.clock = clock
        self.dispatcher = Dispatcher(pool, self.js, signing_key, clock)

    @property
    def pending_hosts(self) -> set[str]:
        """Hosts with pending commands: a sample from one of them triggers its dispatch."""
        return self.dispatcher.pending_hosts

    # --- the API -------------------------------------------------------------------------

    def signing_public_key(self) -> SigningKeyReply:
        """The public key agents verify dispatched commands with."""
        return SigningKeyReply(algorithm=ALGORITHM, public_key=self.signing_key.public_key)

    async def create(self, request: CommandRequest, default_actor: str) -> list[CommandRecord]:
        """Store one command per host the request targets, dispatch to the online ones."""
        now = self.clock()
        timeout = state.check_timeout(request.timeout_seconds, self.config.max_timeout_seconds)
        expires_at = state.expiry(request.expires_at, now, self.config.expiry_seconds)
        hosts = await self._resolve(request)
        fan_out = bool(request.targets) or request.selector is not None or len(hosts) > 1
        batch_id = ids.new_id() if fan_out else None
        actor = request.requested_by or default_actor
        new = [
            store.NewCommand(
                id=ids.new_id(),
                host_id=host.host_id,
                hostname=host.hostname,
                command=request.command,
                priority=request.priority,
                timeout_seconds=timeout,
                created_at=now,
                expires_at=expires_at,
                requested_by=actor,
                batch_id=batch_id,
            )
            for host in hosts
        ]
        await self._insert(new)
        log.info("commands.created", count=len(new), batch_id=batch_id, actor=actor)
        return await self._dispatch_and_read([c.id for c in new], [c.host_id for c in new])

    async def get(self, command_id: str) -> CommandRecord:
        """One command with its event log."""
        async with self.pool.acquire() as conn:
            record = await store.fetch_command(conn, command_id, events=True)
        if record is None:
            raise UnknownCommandError(command_id)
        return record

    async def list_commands(self, request: ListCommandsRequest) -> CommandPage:
        """A page of commands, newest first, and the number of matches."""
        async with self.pool.acquire() as conn:
            items, total = await store.list_commands(conn, request)
        return CommandPage(items=items, total=total, page=request.page, page_size=request.page_size)

    async def cancel(self, request: CancelCommandRequest, default_actor: str) -> CancelOutcome:
        """Cancel a pending command now, or ask the agent of a dispatched or running one."""
        actor = request.requested_by or default_actor
        record = await self.get(request.id)
        if state.cancel_path(record.status, record.id) == "now":
            error = f"cancelled by {actor} before it was dispatched"
            if not await self._cancel_now(record, actor, S.PENDING, error):
                # Dispatched meanwhile: its agent decides now.
                return await self.cancel(request, default_actor)
            return CancelOutcome(command=await self.get(record.id))
        # The request is recorded before the agent is asked, so the audit keeps the order
        # things happened in: the agent's `cancelled` result can come back (and be recorded)
        # before its answer to the request does.
        await self._add_event(record, "cancel_requested", actor, "asking its agent to stop it")
        if record.status is S.DISPATCHED:
            # Before the agent is asked: an agent that comes back meanwhile either finds the
            # withdrawal before it runs the command, or already listens for the request.
            await self._publish_withdrawal(record, actor)
        reply, detail, offline = await self._ask_agent(record, actor)
        if offline and record.status is S.DISPATCHED:
            withdrawn = await self._withdraw(record, actor)
            if withdrawn is not None:
                return withdrawn
        await self._add_event(record, "cancel_answered", actor, detail)
        return CancelOutcome(command=await self.get(record.id), agent_reply=reply)

    async def retry(self, request: RetryCommandRequest, default_actor: str) -> CommandRecord:
        """A new command for the same host and text, linked to the finished original."""
        original = await self.get(request.id)
        state.check_retryable(original.status, original.id)
        actor = request.requested_by or default_actor
        now = self.clock()
        new = store.NewCommand(
            id=ids.new_id(),
            host_id=original.host_id,
            hostname=original.hostname,
            command=original.command,
            priority=original.priority,
            timeout_seconds=min(original.timeout_seconds, self.config.max_timeout_seconds),
            created_at=now,
            expires_at=now + timedelta(seconds=self.config.expiry_seconds),
            requested_by=actor,
            retry_of=original.id,
        )
        await self._insert([new])
        await self._add_event(original, "retried", actor, f"as {new.id}")
        records = await self._dispatch_and_read([new.id], [new.host_id])
        return records[0]

    async def hosts(self) -> list[KnownHost]:
        """The hosts commands can target, by host id, with the operator's labels and whether
        they are online now."""
        async with self.pool.acquire() as conn:
            registry = {entry.host_id: entry for entry in await labels.every(conn)}
        now = self.clock()
        known = {entry.host_id: entry for entry in self.directory.entries()}
        hosts = []
        for host_id in sorted(known.keys() | registry.keys()):
            entry, labelled = known.get(host_id), registry.get(host_id)
            hosts.append(
                KnownHost(
                    host_id=host_id,
                    hostname=entry.hostname if entry else host_id,
                    tags=labelled.tags if labelled else {},
                    rack=labelled.rack if labelled else None,
                    reported_tags=entry.tags if entry else {},
                    reported_rack=entry.rack if entry else None,
                    last_seen=entry.last_seen if entry else None,
                    online=self.directory.is_online(host_id, now, self.config.online_seconds),
                    has_pending=host_id in self.pending_hosts,
                )
            )
        return hosts

    # --- the operator's host labels (what selectors match) --------------------------------

    async def set_labels(self, request: SetHostLabelsRequest, actor: str) -> HostLabels:
        """Set a host's tags and rack, replacing what it had (the host need not be known)."""
        labels.check_tags(request)
        async with self.pool.acquire() as conn:
            stored = await labels.put(conn, request, self.clock(), actor)
        log.info("labels.set", host_id=request.host_id, actor=actor)
        return stored

    async def delete_labels(self, request: DeleteHostLabelsRequest, actor: str) -> HostLabels:
        """Remove a host's labels; what they were. UnknownLabelsError if it had none."""
        async with self.pool.acquire() as conn:
            removed = await labels.delete(conn, request.host_id)
        if removed is None:
            raise UnknownLabelsError(request.host_id)
        log.info("labels.deleted", host_id=request.host_id, actor=actor)
        return removed

    async def list_labels(self) -> list[HostLabels]:
        """Every labelled host, by host id."""
        async with self.pool.acquire() as conn:
            return await labels.every(conn)

    async def _resolve(self, request: CommandRequest) -> list[Target]:
        """The request's targets: names through the directory and the labelled hosts, the
        selector through the labels alone (never what samples claim)."""
        names = ([request.hostname] if request.hostname is not None else []) + (
            request.targets or []
        )
        candidates = {host_id for name in names for host_id in host_ids_for(name)}
        selector = request.selector
        async with self.pool.acquire() as conn:
            labelled = set(await labels.of(conn, candidates)) if candidates else set()
            selected = (
                await labels.matching(conn, selector)
                if selector is not None and selecting(selector)
                else None
            )
        return self.directory.resolve(request, labelled=labelled, selected=selected)

    # --- dispatch and expiry -------------------------------------------------------------

    def on_host_seen(self, host_id: str) -> None:
        """A sample of `host_id` was read: if the host is online (not an old sample replayed at
        start-up), dispatch its pending commands in the background."""
        if self._online([host_id]):
            self.dispatcher.in_background(host_id)

    async def sweep(self) -> int:
        """Expire pending commands past expires_at, re-read which hosts have pending commands
        (another replica may have made them) and dispatch to the online ones; how many expired."""
        async with self.pool.acquire() as conn:
            expired = await store.expire_due(conn, self.clock())
            self.dispatcher.pending_hosts = await store.pending_hosts(conn)
        if expired:
            metrics.TRANSITIONS.labels(S.EXPIRED.value).inc(len(expired))
            log.info("commands.expired", count=len(expired))
        # In batches, as a fan-out: one task per host would claim and mark one at a time.
        await self.dispatcher.dispatch_to(self._online(self.pending_hosts))
        return len(expired)

    async def stop(self) -> None:
        """Let dispatches under way finish."""
        await self.dispatcher.stop()

    # --- helpers -------------------------------------------------------------------------

    async def _insert(self, new: list[store.NewCommand]) -> None:
        async with self.pool.acquire() as conn:
            await store.insert_commands(conn, new)
        self.dispatcher.pending_hosts.update(c.host_id for c in new)
        metrics.TRANSITIONS.labels(S.PENDING.value).inc(len(new))

    async def _dispatch_and_read(
        self, command_ids: list[str], host_ids: list[str]
    ) -> list[CommandRecord]:
        """Dispatch to the online hosts among `host_ids` (the others' commands wait for their
        next sample), then read the commands back as they stand."""
        await self.dispatcher.dispatch_to(self._online(host_ids))
        async with self.pool.acquire() as conn:
            return await store.fetch_commands(conn, command_ids)

    def _online(self, host_ids: Iterable[str]) -> list[str]:
        """Those of `host_ids` whose last sample is recent (an old one replayed at start-up is
        not): the hosts whose commands go out now."""
        now = self.clock()
        return [
            host_id
            for host_id in host_ids
            if self.directory.is_online(host_id, now, self.config.online_seconds)
        ]

    async def _publish_withdrawal(self, record: CommandRecord, actor: str) -> None:
        """Store the signed withdrawal of a dispatched command on
        commands.withdrawn.<host>.<id>: its message stays in COMMANDS (no service may delete
        one), and its agent looks this up before running it."""
        withdrawal = CommandWithdrawal(
            command_id=record.id,
            host_id=record.host_id,
            withdrawn_at=self.clock(),
            requested_by=actor,
        )
        await self.js.publish(
            subjects.commands_withdrawn(record.host_id, record.id),
            codec.encode(sign_withdrawal(withdrawal, self.signing_key)),
            timeout=PUBLISH_TIMEOUT_SECONDS,
            headers={"Nats-Msg-Id": f"withdrawn:{record.id}"},
        )

    async def _withdraw(self, record: CommandRecord, actor: str) -> CancelOutcome | None:
        """Cancel a dispatched command its agent has not taken (its signed withdrawal is
        stored already, so the agent will not run it). None when it moved on meanwhile (the
        agent decides)."""
        error = f"cancelled by {actor} before its agent took it"
        detail = (
            "withdrawn: its agent is offline; a signed withdrawal on "
            f"{subjects.commands_withdrawn(record.host_id, record.id)} keeps it from running"
        )
        if not await self._cancel_now(record, actor, S.DISPATCHED, error, detail):
            return None
        return CancelOutcome(command=await self.get(record.id))

    async def _cancel_now(
        self,
        record: CommandRecord,
        actor: str,
        expected: S,
        error: str,
        detail: str | None = None,
    ) -> bool:
        """Cancel ``record`` if it is still ``expected``, with its event; whether it was."""
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            moved = await store.move(
                conn, record.id, S.CANCELLED, only_from=expected, finished_at=now, error=error
            )
            if moved is None:
                return False
            await store.add_event(
                conn,
                record.id,
                record.host_id,
                at=now,
                event="cancelled",
                status=S.CANCELLED,
                actor=actor,
                detail=detail,
            )
        metrics.TRANSITIONS.labels(S.CANCELLED.value).inc()
        return True

    async def _add_event(
        self, record: CommandRecord, event: str, actor: str, detail: str | None
    ) -> None:
        async with self.pool.acquire() as conn:
            await store.add_event(
                conn,
                record.id,
                record.host_id,
                at=self.clock(),
                event=event,
                status=record.status,
                actor=actor,
                detail=detail,
            )

    async def _ask_agent(
        self, record: CommandRecord, actor: str
    ) -> tuple[CommandCancelReply | None, str, bool]:
        """The agent's reply (None without one), what happened for the log, and whether no
        agent listens at all (its host is offline)."""
        request = CommandCancel(command_id=record.id, requested_by=actor)
        subject = subjects.commands_cancel(record.host_id)
        try:
            answer = await ask_for_reply(
                self.nc,
                subject,
                codec.encode(request),
                reply_prefix=subjects.cancel_reply_prefix(record.host_id),
                timeout=self.config.cancel_timeout_seconds,
            )
        except nats.errors.NoRespondersError:
            status = record.status.value
            return None, f"no agent listens on {subject}: its host is offline; still {status}", True
        except (nats.errors.TimeoutError, TimeoutError):
            wait = self.config.cancel_timeout_seconds
            return None, f"the agent did not answer on {subject} within {wait:g} s", False
        try:
            reply = codec.decode_command_cancel_reply(answer.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return None, f"the agent's answer is not a CommandCancelReply: {exc}", False
        if reply.cancelled:
            return reply, "the agent is stopping it", False
        return reply, f"the agent did not stop it: {reply.error or 'no reason given'}", False
