"""`python -m mirror_stage.enroller --data-dir DIR`: answers agents' join requests.

Part of `mirror-stage up` (it enrolls into the stack's identities directory and reloads the
stack's nats-server, as `mirror-stage agent enroll` does). On the bus as the `enroller`
identity: it reads `agents.join.<token id>`, which only that token's holders may publish (in
the JOIN account), and answers; it can do nothing else. One request at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path
from typing import Final

import msgspec
import nats
import nats.errors
import structlog
from nats.aio.msg import Msg

from mirror_runtime.config import NATS_URL
from mirror_runtime.logs import configure_logging
from mirror_schema import identities, subjects
from mirror_schema.errors import InvalidSubject
from mirror_schema.joins import JoinReply, JoinRequest, join_request_error
from mirror_schema.nats_credentials import credential_options, server_urls
from mirror_stage.enrollment import reload_running_servers, write_users
from mirror_stage.identity_lock import identity_lock
from mirror_stage.identity_store import IdentityStore
from mirror_stage.joining import handle_join
from mirror_stage.nats_accounts import accounts_block
from mirror_stage.stack_layout import StackLayout, stack_layout

log = structlog.get_logger()

# Requests waiting while one is handled (a reload takes a second or two): a fleet joining at
# once waits in nats-server's buffers, and agents ask again after a timeout.
PENDING_REQUESTS: Final = 1000
RELOAD_RETRY_FIRST_SECONDS: Final = 1.0
# Join requests per token: a fleet joining at once goes at about 14 a second here.
TOKEN_RATE_PER_SECOND: Final = 20.0
TOKEN_BURST: Final = 100.0
MAX_BUCKETS: Final = 10_000
RELOAD_RETRY_LAST_SECONDS: Final = 30.0


class Enroller:
    """The join requests' answerer for one stack."""

    def __init__(self, layout: StackLayout, signing_public_key: str | None) -> None:
        self.layout = layout
        self.signing_public_key = signing_public_key
        # Users changed since the last reload began; one reload carries every change made
        # meanwhile (a reload costs seconds of nats-server's CPU with thousands of agents).
        self._stale = False
        self._reloading: asyncio.Task[None] | None = None
        self._buckets: dict[str, tuple[float, float]] = {}

    async def on_request(self, msg: Msg) -> None:
        try:
            token_id = subjects.token_of_join(msg.subject)
        except InvalidSubject:
            log.warning("enroller.bad_subject", subject=msg.subject)
            return
        try:
            request = msgspec.json.decode(msg.data, type=JoinRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._answer(msg, JoinReply(status="refused", detail=str(exc), host_id=""))
            return
        if not self._admit(token_id):
            busy = JoinReply(
                status="busy",
                detail=f"too many join requests with token {token_id} just now: ask again later",
                host_id=request.host_id,
            )
            await self._answer(msg, busy)
            return
        problem = join_request_error(request)
        if problem is not None:
            refused = JoinReply(status="refused", detail=problem, host_id=request.host_id)
            await self._answer(msg, refused)
            return
        reply, changed = await asyncio.to_thread(
            handle_join, self.layout, token_id, request, self.signing_public_key
        )
        log.info(
            "enroller.join",
            token=token_id,
            host=request.host_id,
            status=reply.status,
            detail=reply.detail,
        )
        await self._answer(msg, reply)
        if changed:
            # After the answer: a token used up by this join loses its user at this reload.
            self.reload_soon()

    def _admit(self, token_id: str) -> bool:
        """Whether a request with `token_id` may be handled now: a token bucket per token,
        so one token's holders cannot keep the enroller (and its lock) from everyone else."""
        now = time.monotonic()
        level, since = self._buckets.get(token_id, (TOKEN_BURST, now))
        level = min(TOKEN_BURST, level + (now - since) * TOKEN_RATE_PER_SECOND)
        if len(self._buckets) >= MAX_BUCKETS and token_id not in self._buckets:
            self._buckets.clear()  # bounded: only live tokens' holders can ask at all
        if level < 1:
            self._buckets[token_id] = (level, now)
            return False
        self._buckets[token_id] = (level - 1, now)
        return True

    def reload_soon(self) -> None:
        """Tell nats-server the users, once for every change made until the reload starts."""
        self._stale = True
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.create_task(self._reload())

    async def _reload(self) -> None:
        delay = RELOAD_RETRY_FIRST_SECONDS
        while self._stale:
            self._stale = False
            try:
                reloaded = await asyncio.to_thread(self._publish_users)
            except Exception:
                log.exception("enroller.reload_failed")
                reloaded = False
            if not reloaded:
                # The joined agents wait to be let in: try again, less and less often.
                self._stale = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RELOAD_RETRY_LAST_SECONDS)

    async def reloaded(self) -> None:
        """Wait for the reload under way, if any (at stop)."""
        if self._reloading is not None:
            await self._reloading

    def _publish_users(self) -> bool:
        """Write the users and reload the servers; whether every running server reloaded."""
        # The lock only while the file is written: joins go on being answered during the
        # reload, which takes seconds with thousands of agents.
        layout = self.layout
        with identity_lock(layout.identities_dir):
            users = accounts_block(list(IdentityStore(layout.identities_dir).users()))
            write_users(layout, layout.nats_server_settings(users))
        return reload_running_servers(layout, failures_fatal=True)

    async def _answer(self, msg: Msg, reply: JoinReply) -> None:
        if not msg.reply:
            return
        try:
            await msg.respond(msgspec.json.encode(reply))
        except nats.errors.Error as exc:
            log.warning("enroller.reply_failed", host=reply.host_id, error=str(exc))


async def serve(layout: StackLayout, signing_public_key: str | None) -> None:
    """Answer join requests until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    credentials = str(layout.identities_dir / f"{identities.ENROLLER}.nk")
    nc = await nats.connect(
        server_urls(layout.nats_urls),
        inbox_prefix=identities.inbox_prefix(identities.ENROLLER),
        max_reconnect_attempts=-1,
        **credential_options(credentials, layout.tls_ca_file),
    )
    enroller = Enroller(layout, signing_public_key)
    await nc.subscribe(
        subjects.AGENTS_JOIN_ALL,
        queue=subjects.ENROLLER_QUEUE_GROUP,
        cb=enroller.on_request,
        pending_msgs_limit=PENDING_REQUESTS,
    )
    await nc.flush()
    log.info("enroller.ready", subject=subjects.AGENTS_JOIN_ALL)
    await stop.wait()
    await nc.drain()
    await enroller.reloaded()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirror_stage.enroller")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--signing-public-key", default=None)
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("MIRROR_STAGE_LOG_FORMAT", "json"))
    # A cluster's parts get every node's URL; the layout is made from the first.
    first, *others = os.environ.get("MIRROR_STAGE_NATS_URL", NATS_URL.default).split(",")
    layout = dataclasses.replace(
        stack_layout({**os.environ, "MIRROR_STAGE_NATS_URL": first}, data_dir=args.data_dir),
        nats_other_urls=tuple(others),
    )
    asyncio.run(serve(layout, args.signing_public_key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
