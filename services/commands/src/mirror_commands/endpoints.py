"""The commands service's doors: which CommandsApi function answers each operation declared
in mirror_schema.command_operations, and the NATS door serving them in the queue group
``commands`` (the HTTP door, mirror_commands.app, mounts the same table). No business rules.
"""

from typing import Any, Final

import nats.aio.client

from mirror_commands import metrics
from mirror_commands.operations import CommandsApi
from mirror_runtime.implementations import Implementation, implement
from mirror_runtime.nats_door import NatsDoor
from mirror_schema import command_operations as ops
from mirror_schema import subjects
from mirror_schema.api import Items, NoRequest
from mirror_schema.command_api import (
    CancelCommandRequest,
    CancelOutcome,
    CommandPage,
    CommandRecord,
    CreatedCommands,
    DeleteHostLabelsRequest,
    GetCommandRequest,
    HostLabels,
    KnownHosts,
    ListCommandsRequest,
    RetryCommandRequest,
    SetHostLabelsRequest,
    SigningKeyReply,
)
from mirror_schema.commands import CommandRequest

__all__ = ["HTTP_ACTOR", "implementations", "nats_door"]

# Who acts at the HTTP door when no one is logged in and the body names no one.
HTTP_ACTOR: Final = "http"


def implementations(api: CommandsApi) -> list[Implementation[Any, Any]]:
    """Every operation of the service with the function carrying it out."""

    async def create(request: CommandRequest, actor: str | None) -> CreatedCommands:
        records = await api.create(request, actor or HTTP_ACTOR)
        return CreatedCommands(commands=records, batch_id=records[0].batch_id if records else None)

    async def list_commands(request: ListCommandsRequest, _actor: str | None) -> CommandPage:
        return await api.list_commands(request)

    async def hosts(_request: NoRequest, _actor: str | None) -> KnownHosts:
        return KnownHosts(hosts=await api.hosts())

    async def signing_key(_request: NoRequest, _actor: str | None) -> SigningKeyReply:
        return api.signing_public_key()

    async def labels_set(request: SetHostLabelsRequest, actor: str | None) -> HostLabels:
        return await api.set_labels(request, actor or HTTP_ACTOR)

    async def labels_delete(request: DeleteHostLabelsRequest, actor: str | None) -> HostLabels:
        return await api.delete_labels(request, actor or HTTP_ACTOR)

    async def labels_list(_request: NoRequest, _actor: str | None) -> Items[HostLabels]:
        return Items(items=await api.list_labels())

    async def get(request: GetCommandRequest, _actor: str | None) -> CommandRecord:
        return await api.get(request.id)

    async def cancel(request: CancelCommandRequest, actor: str | None) -> CancelOutcome:
        return await api.cancel(request, actor or HTTP_ACTOR)

    async def retry(request: RetryCommandRequest, actor: str | None) -> CommandRecord:
        return await api.retry(request, actor or HTTP_ACTOR)

    return [
        implement(ops.CREATE, create),
        implement(ops.LIST, list_commands),
        implement(ops.HOSTS, hosts),
        implement(ops.SIGNING_KEY, signing_key),
        implement(ops.LABELS_SET, labels_set),
        implement(ops.LABELS_DELETE, labels_delete),
        implement(ops.LABELS_LIST, labels_list),
        implement(ops.GET, get),
        implement(ops.CANCEL, cancel),
        implement(ops.RETRY, retry),
    ]


def nats_door(nc: nats.aio.client.Client, api: CommandsApi) -> NatsDoor:
    """The service's request/reply subscriptions, in the queue group ``commands``."""
    return NatsDoor(
        nc, implementations(api), queue=subjects.COMMANDS_QUEUE_GROUP, requests=metrics.REQUESTS
    )
