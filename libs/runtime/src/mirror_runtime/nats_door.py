"""A service's NATS door, built from its operations' declarations (mirror_schema.api): one
subscription per operation's subject, ``<subject>.*`` in the service's queue group.

Each request is served by mirror_runtime.doors.serve_nats (the caller from the subject, the
reply only to its own inbox) and answered with a mirror_schema.api.Reply of the result, or a
Failure naming the field. Who acts is the caller its subject vouches for; only the twin may
name the operator it acts for. Requests are served side by side, up to IN_FLIGHT at once: one
that takes long (a password hash, a long history) holds back none of those behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import prometheus_client
import structlog
from nats.aio.msg import Msg

from mirror_runtime.doors import TRANSIENT, request_caller, serve_nats
from mirror_runtime.implementations import Implementation
from mirror_runtime.requests_in import from_nats
from mirror_schema.api import Reply
from mirror_schema.identities import endpoint_subscription

__all__ = ["NatsDoor"]

log = structlog.get_logger()

# Requests a door serves at once. Past this, its subscriptions wait for one to end (nats-py
# holds what arrives meanwhile, up to its pending limits, then drops and reports it).
IN_FLIGHT: Final = 64


class NatsDoor:
    """The request/reply subscriptions of a service's operations; replicas share them."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        implementations: Iterable[Implementation[Any, Any]],
        *,
        queue: str,
        requests: prometheus_client.Counter,
    ) -> None:
        self.nc = nc
        self.implementations = [i for i in implementations if i.operation.subject is not None]
        self.queue = queue
        self.requests = requests
        self._subscriptions: list[nats.aio.subscription.Subscription] = []
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._serving: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Subscribe every operation's subject in the queue group."""
        for implementation in self.implementations:
            subject = implementation.operation.subject
            assert subject is not None
            self._subscriptions.append(
                await self.nc.subscribe(
                    endpoint_subscription(subject),
                    queue=self.queue,
                    cb=self._callback(implementation),
                )
            )

    async def stop(self) -> None:
        """Stop taking requests, and answer the ones in hand."""
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except nats.errors.Error as exc:
                log.warning("requests.unsubscribe_failed", error=str(exc))
        self._subscriptions = []
        if self._serving:
            await asyncio.gather(*self._serving, return_exceptions=True)

    def _side_by_side(
        self, serve: Callable[[Msg], Awaitable[None]]
    ) -> Callable[[Msg], Awaitable[None]]:
        """A subscription callback that serves each message in a task of its own, so that
        nats-py (which awaits a subscription's callback message by message) hands over the
        next at once; it waits only while IN_FLIGHT are being served."""

        async def serving(msg: Msg) -> None:
            try:
                await serve(msg)
            finally:
                self._in_flight.release()

        async def on_message(msg: Msg) -> None:
            await self._in_flight.acquire()
            task = asyncio.create_task(serving(msg))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

        return on_message

    def _callback(
        self, implementation: Implementation[Any, Any]
    ) -> Callable[[Msg], Awaitable[None]]:
        operation = implementation.operation

        async def on_request(msg: Msg) -> None:
            async def run() -> msgspec.Struct:
                request = from_nats(operation, msg.data)
                claim = getattr(request, operation.actor) if operation.actor else None
                actor = request_caller(msg).actor(claim)
                if operation.actor:
                    request = msgspec.structs.replace(request, **{operation.actor: actor})
                return Reply(result=await implementation.run(request, actor))

            await serve_nats(msg, operation.name, run, requests=self.requests, transient=TRANSIENT)

        return self._side_by_side(on_request)
