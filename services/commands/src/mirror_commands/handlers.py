"""NATS request/reply endpoints in the queue group `commands`: decode -> API -> reply.

Every request gets a reply: the result, or an error naming the field (never silence). No
business rules here; CommandsApi holds them.
"""

from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import structlog
from nats.aio.msg import Msg

from mirror_commands import metrics
from mirror_commands.operations import CommandsApi
from mirror_commands.query import decode
from mirror_commands.state import as_command
from mirror_runtime.doors import TRANSIENT, request_caller, serve_nats
from mirror_schema import codec, subjects
from mirror_schema.command_api import (
    CancelCommandReply,
    CommandPageReply,
    CommandRecordReply,
    ErrorCode,
    HostLabelsListReply,
    HostLabelsReply,
    decode_cancel_command_request,
    decode_delete_host_labels_request,
    decode_get_command_request,
    decode_list_commands_request,
    decode_retry_command_request,
    decode_set_host_labels_request,
)
from mirror_schema.commands import CommandReply
from mirror_schema.identities import endpoint_subscription

log = structlog.get_logger()

# requested_by of a NATS request that does not say who is asking.
NATS_ACTOR: Final = "nats"


class RequestHandlers:
    """The service's request/reply subscriptions."""

    def __init__(self, nc: nats.aio.client.Client, api: CommandsApi) -> None:
        self.nc = nc
        self.api = api
        self._subscriptions: list[nats.aio.subscription.Subscription] = []

    async def start(self) -> None:
        """Subscribe every endpoint in the queue group, so that replicas share the requests."""
        endpoints: dict[str, Callable[[Msg], Awaitable[None]]] = {
            subjects.COMMANDS_REQUEST: self.on_create,
            subjects.COMMANDS_API_GET: self.on_get,
            subjects.COMMANDS_API_LIST: self.on_list,
            subjects.COMMANDS_API_CANCEL: self.on_cancel,
            subjects.COMMANDS_API_RETRY: self.on_retry,
            subjects.COMMANDS_API_SIGNING_KEY: self.on_signing_key,
            **self._label_endpoints(),
        }
        for subject, callback in endpoints.items():
            self._subscriptions.append(
                await self.nc.subscribe(
                    endpoint_subscription(subject),
                    queue=subjects.COMMANDS_QUEUE_GROUP,
                    cb=callback,
                )
            )

    async def stop(self) -> None:
        """Stop taking requests (the ones in hand are answered as NATS drains)."""
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except nats.errors.Error as exc:
                log.warning("requests.unsubscribe_failed", error=str(exc))
        self._subscriptions = []

    async def on_create(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(codec.decode_command_request, msg.data)
            request = msgspec.structs.replace(request, requested_by=_actor(msg, request))
            records = await self.api.create(request, NATS_ACTOR)
            return CommandReply(commands=[as_command(r) for r in records])

        await self._serve(
            msg, "create", run, lambda error, code: CommandReply(error=error, code=code)
        )

    async def on_get(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(decode_get_command_request, msg.data)
            return CommandRecordReply(command=await self.api.get(request.id))

        await self._serve(msg, "get", run, _record_error)

    async def on_list(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            # An empty body asks for the first page of everything.
            data = msg.data if msg.data.strip() else b"{}"
            request = decode(decode_list_commands_request, data)
            return CommandPageReply(page=await self.api.list_commands(request))

        await self._serve(
            msg, "list", run, lambda error, code: CommandPageReply(error=error, code=code)
        )

    async def on_cancel(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(decode_cancel_command_request, msg.data)
            request = msgspec.structs.replace(request, requested_by=_actor(msg, request))
            return await self.api.cancel(request, NATS_ACTOR)

        await self._serve(
            msg, "cancel", run, lambda error, code: CancelCommandReply(error=error, code=code)
        )

    async def on_retry(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(decode_retry_command_request, msg.data)
            request = msgspec.structs.replace(request, requested_by=_actor(msg, request))
            return CommandRecordReply(command=await self.api.retry(request, NATS_ACTOR))

        await self._serve(msg, "retry", run, _record_error)

    async def on_signing_key(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            return self.api.signing_public_key()

        await self._serve(msg, "signing_key", run, _record_error)

    # --- the operator's host labels (what selectors match) --------------------------------

    def _label_endpoints(self) -> dict[str, Callable[[Msg], Awaitable[None]]]:
        return {
            subjects.COMMANDS_API_LABELS_SET: self.on_labels_set,
            subjects.COMMANDS_API_LABELS_DELETE: self.on_labels_delete,
            subjects.COMMANDS_API_LABELS_LIST: self.on_labels_list,
        }

    async def on_labels_set(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(decode_set_host_labels_request, msg.data)
            return HostLabelsReply(
                labels=await self.api.set_labels(request, request_caller(msg).actor())
            )

        await self._serve(msg, "labels_set", run, _labels_error)

    async def on_labels_delete(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode(decode_delete_host_labels_request, msg.data)
            return HostLabelsReply(
                labels=await self.api.delete_labels(request, request_caller(msg).actor())
            )

        await self._serve(msg, "labels_delete", run, _labels_error)

    async def on_labels_list(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            return HostLabelsListReply(labels=await self.api.list_labels())

        await self._serve(
            msg, "labels_list", run, lambda error, code: HostLabelsListReply(error=error, code=code)
        )

    async def _serve(
        self,
        msg: Msg,
        operation: str,
        run: Callable[[], Awaitable[msgspec.Struct]],
        error_reply: Callable[[str, ErrorCode], msgspec.Struct],
    ) -> None:
        await serve_nats(
            msg, operation, run, error_reply, requests=metrics.REQUESTS, transient=TRANSIENT
        )


class _Claim(Protocol):
    @property
    def requested_by(self) -> str | None: ...


def _actor(msg: Msg, request: _Claim) -> str:
    """Who the audit trail names: the identity the request's subject vouches for; only the
    twin, which logged the operator in, may name the operator it acts for."""
    return request_caller(msg).actor(request.requested_by)


def _record_error(error: str, code: ErrorCode) -> msgspec.Struct:
    return CommandRecordReply(error=error, code=code)


def _labels_error(error: str, code: ErrorCode) -> msgspec.Struct:
    return HostLabelsReply(error=error, code=code)
