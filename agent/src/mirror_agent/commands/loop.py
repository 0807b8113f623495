"""CommandLoop: the durable consumer of this host's commands, the cancel endpoint, and stop.

Wiring only: messages are decided in dispatches.py. Commands run in their own tasks, at most
`max_concurrent` at once; the loop fetches only as many messages as there are free slots.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import nats.aio.client
import nats.errors
import nats.js.errors
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from mirror_agent.commands.dispatches import DispatchedCommands
from mirror_agent.commands.journal import Journal
from mirror_agent.commands.policy import Policy
from mirror_agent.commands.publisher import Publisher
from mirror_agent.commands.reaper import Reaper
from mirror_agent.commands.sandbox import sandbox_for
from mirror_agent.commands.settings import CommandSettings
from mirror_agent.commands.withdrawals import Withdrawals
from mirror_agent.jetstream import agent_jetstream
from mirror_schema import streams, subjects
from mirror_schema.backoff import Backoff

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
ACK_WAIT_SECONDS = 30.0
RETRY_SECONDS = 2.0
JOURNAL_FULL_WAIT_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
# On stop, after running commands are killed: how long results may still be published.
STOP_REPORT_GRACE_SECONDS = 3.0

Connection = Callable[[], nats.aio.client.Client | None]


def consumer_name(host_id: str) -> str:
    """The durable consumer of one host's commands on COMMANDS."""
    return f"agent-{host_id}"


def consumer_config(host_id: str, config: CommandSettings) -> ConsumerConfig:
    """The agent's durable pull consumer of its own host's commands."""
    name = consumer_name(host_id)
    return ConsumerConfig(
        # `name` too: the create request's subject then carries the filter, which is what
        # an agent's NATS permissions allow (its own host's commands, nothing else).
        name=name,
        durable_name=name,
        filter_subject=subjects.commands_dispatch(host_id),
        ack_policy=AckPolicy.EXPLICIT,
        # Commands sent while this agent was away (or before its first start) run too;
        # the journal and the expiry keep a replay from running anything twice or late.
        deliver_policy=DeliverPolicy.ALL,
        max_deliver=config.max_deliver,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=max(4 * config.max_concurrent, 16),
    )


class CommandLoop:
    """Takes this host's commands from COMMANDS and runs them by the `[commands]` policy."""

    def __init__(
        self,
        config: CommandSettings,
        *,
        host_id: str,
        journal_path: Path,
        connection: Connection,
    ) -> None:
        self.config = config
        self.host_id = host_id
        self.journal_path = journal_path
        self.connection = connection
        self.consumer = consumer_name(host_id)
        self.dispatches: DispatchedCommands | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then stop running commands and report them.

        Never raises: a failure here ends the command loop, logged, and leaves the
        agent's telemetry running.
        """
        try:
            await self._run(stop)
        except Exception:
            log.exception("commands.failed host_id=%s: no commands until a restart", self.host_id)

    async def _run(self, stop: asyncio.Event) -> None:
        try:
            journal = Journal(
                self.journal_path,
                max_entries=self.config.journal_max_entries,
                max_age_seconds=streams.COMMANDS.max_age_seconds,
            )
        except OSError as exc:
            log.error("commands.disabled reason=cannot open journal %s: %s", self.journal_path, exc)
            return
        reaper: Reaper | None = None
        try:
            nc = await self._connected(stop)
            if nc is None:
                return
            # Kills the commands' groups if this agent dies before they end (reaper.py).
            reaper = Reaper.start()
            dispatches = self.dispatches = DispatchedCommands(
                self.config,
                host_id=self.host_id,
                journal=journal,
                policy=Policy(
                    self.config.mode, self.config.allowlist, allow_shell=self.config.allow_shell
                ),
                sandbox=sandbox_for(self.config.run_as),
                publisher=Publisher(nc, host_id=self.host_id, consumer=self.consumer),
                withdrawals=Withdrawals(
                    nc, host_id=self.host_id, public_key=self.config.signing_public_key or ""
                ),
                reaper=reaper,
            )
            cancels: Subscription | None = None
            try:
                dispatches.recover()
                cancels = await nc.subscribe(
                    subjects.commands_cancel(self.host_id), cb=dispatches.on_cancel
                )
                log.info(
                    "commands.started host_id=%s mode=%s max_concurrent=%d journal=%s",
                    self.host_id,
                    self.config.mode,
                    self.config.max_concurrent,
                    self.journal_path,
                )
                pull = await self._subscribe(nc, stop)
                if pull is not None:
                    await self._pull(pull, dispatches, stop)
            finally:
                if cancels is not None:
                    with contextlib.suppress(nats.errors.Error):
                        await cancels.unsubscribe()
                await dispatches.shutdown(STOP_REPORT_GRACE_SECONDS)
            log.info("commands.stopped %s", dispatches.stats)
        finally:
            if reaper is not None:
                await asyncio.to_thread(reaper.close)
            journal.close()

    async def _connected(self, stop: asyncio.Event) -> nats.aio.client.Client | None:
        # The transport connects (and reconnects) in the background; share its connection.
        while not stop.is_set():
            nc = self.connection()
            if nc is not None and nc.is_connected:
                return nc
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await stop.wait()
        return None

    async def _subscribe(
        self, nc: nats.aio.client.Client, stop: asyncio.Event
    ) -> JetStreamContext.PullSubscription | None:
        config = consumer_config(self.host_id, self.config)
        backoff = Backoff(first=RETRY_SECONDS, cap=MAX_RETRY_SECONDS)
        while not stop.is_set():
            try:
                js = await agent_jetstream(nc)
                await js.add_consumer(streams.COMMANDS.name, config)
                return await js.pull_subscribe_bind(
                    durable=self.consumer, stream=streams.COMMANDS.name
                )
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
                # E.g. no COMMANDS stream yet: the services create it when they start.
                delay = backoff.next()
                log.warning(
                    "commands.consumer_unavailable stream=%s consumer=%s error=%r retry_in=%.0f",
                    streams.COMMANDS.name,
                    self.consumer,
                    exc,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
        return None

    async def _pull(
        self,
        pull: JetStreamContext.PullSubscription,
        dispatches: DispatchedCommands,
        stop: asyncio.Event,
    ) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if not dispatches.has_room():
                    # Nothing fetched: the commands wait in the stream, none is forgotten.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(JOURNAL_FULL_WAIT_SECONDS):
                            await stop.wait()
                    continue
                free = self.config.max_concurrent - dispatches.running_count()
                if free <= 0:
                    freed = asyncio.create_task(dispatches.slot_freed())
                    await asyncio.wait({freed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    freed.cancel()
                    continue
                fetching = asyncio.create_task(pull.fetch(free, timeout=FETCH_TIMEOUT_SECONDS))
                await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetching.done():
                    # What the fetch had pulled is redelivered after ack_wait: not lost.
                    fetching.cancel()
                    await asyncio.gather(fetching, return_exceptions=True)
                    return
                try:
                    msgs = fetching.result()
                except TimeoutError:
                    # Nothing came: nats-py says so with its own TimeoutError or, for a batch
                    # of more than one whose first request the server ends with a 408 just
                    # after the fetch's deadline, asyncio's (the builtin, its own's base):
                    # tests/integration/test_agent_command_fetch.py.
                    continue
                except (nats.errors.Error, nats.js.errors.Error) as exc:
                    log.info("commands.fetch_failed error=%r", exc)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(RETRY_SECONDS):
                            await stop.wait()
                    continue
                for msg in msgs:
                    await dispatches.on_dispatch(msg)
        finally:
            stopping.cancel()
            with contextlib.suppress(nats.errors.Error):
                await pull.unsubscribe()
