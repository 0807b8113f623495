"""NATS request/reply endpoints in the queue group ``alerts``: decode -> AlertsApi -> reply.

Every request gets a reply: the result, or an error naming the field (never silence). No
business rules here; AlertsApi holds them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import structlog
from nats.aio.msg import Msg

from mirror_alerts import metrics
from mirror_alerts.errors import InvalidRequestError, MalformedError
from mirror_alerts.operations import AlertsApi
from mirror_runtime.doors import TRANSIENT, request_caller, serve_nats
from mirror_schema import subjects
from mirror_schema.alert_api import (
    AckAlertRequest,
    ActiveAlertsRequest,
    AlertListReply,
    AlertRecordReply,
    CreateSilenceRequest,
    DeleteReply,
    ErrorCode,
    GetAlertRequest,
    IdRequest,
    ListAlertsRequest,
    RuleListReply,
    RuleReply,
    SilenceListReply,
    SilenceReply,
    WriteRuleRequest,
)
from mirror_schema.field_errors import field_error
from mirror_schema.identities import Caller, endpoint_subscription

__all__ = ["RequestHandlers", "decode_body"]

log = structlog.get_logger()

S = TypeVar("S")
# The request's body, and who sent it (mirror_runtime.doors.request_caller).
Run = Callable[[bytes, Caller], Awaitable[msgspec.Struct]]
ErrorReply = Callable[[str, ErrorCode], msgspec.Struct]


def decode_body(decoder: msgspec.json.Decoder[S], data: bytes) -> S:
    """Decode a request body; the error names the field (an empty body is an empty object)."""
    try:
        return decoder.decode(data if data.strip() else b"{}")
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(field_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise MalformedError(f"body: not valid JSON ({exc})") from None


_ACTIVE: Final = msgspec.json.Decoder(ActiveAlertsRequest)
_LIST: Final = msgspec.json.Decoder(ListAlertsRequest)
_GET: Final = msgspec.json.Decoder(GetAlertRequest)
_ACK: Final = msgspec.json.Decoder(AckAlertRequest)
_ID: Final = msgspec.json.Decoder(IdRequest)
_WRITE_RULE: Final = msgspec.json.Decoder(WriteRuleRequest)
_CREATE_SILENCE: Final = msgspec.json.Decoder(CreateSilenceRequest)


class _UpdateRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    rule: dict[str, Any]
    by: str | None = None


_UPDATE_RULE: Final = msgspec.json.Decoder(_UpdateRule)


class RequestHandlers:
    """The service's request/reply subscriptions; every replica takes its share."""

    def __init__(self, nc: nats.aio.client.Client, api: AlertsApi) -> None:
        self.nc = nc
        self.api = api
        self._subscriptions: list[nats.aio.subscription.Subscription] = []

    def _endpoints(self) -> dict[str, tuple[str, Run, ErrorReply]]:
        api = self.api

        async def active(data: bytes, _caller: Caller) -> msgspec.Struct:
            return AlertListReply(items=await api.active(decode_body(_ACTIVE, data)))

        async def history(data: bytes, _caller: Caller) -> msgspec.Struct:
            return AlertListReply(items=await api.history(decode_body(_LIST, data)))

        async def get(data: bytes, _caller: Caller) -> msgspec.Struct:
            return AlertRecordReply(alert=await api.get(decode_body(_GET, data).id))

        async def ack(data: bytes, caller: Caller) -> msgspec.Struct:
            request = decode_body(_ACK, data)
            request = msgspec.structs.replace(request, by=caller.actor(request.by))
            return AlertRecordReply(alert=await api.acknowledge(request))

        async def rules(_data: bytes, _caller: Caller) -> msgspec.Struct:
            return RuleListReply(items=await api.rules())

        async def rule(data: bytes, _caller: Caller) -> msgspec.Struct:
            return RuleReply(rule=await api.rule(decode_body(_ID, data).id))

        async def create_rule(data: bytes, caller: Caller) -> msgspec.Struct:
            request = decode_body(_WRITE_RULE, data)
            request = msgspec.structs.replace(request, by=caller.actor(request.by))
            return RuleReply(rule=await api.create_rule(request))

        async def update_rule(data: bytes, caller: Caller) -> msgspec.Struct:
            body = decode_body(_UPDATE_RULE, data)
            request = WriteRuleRequest(rule=body.rule, by=caller.actor(body.by))
            return RuleReply(rule=await api.replace_rule(body.id, request))

        async def delete_rule(data: bytes, _caller: Caller) -> msgspec.Struct:
            request = decode_body(_ID, data)
            await api.delete_rule(request.id)
            return DeleteReply(id=request.id)

        async def silences(_data: bytes, _caller: Caller) -> msgspec.Struct:
            return SilenceListReply(items=await api.silences())

        async def create_silence(data: bytes, caller: Caller) -> msgspec.Struct:
            request = decode_body(_CREATE_SILENCE, data)
            request = msgspec.structs.replace(request, by=caller.actor(request.by))
            return SilenceReply(silence=await api.create_silence(request))

        async def expire_silence(data: bytes, _caller: Caller) -> msgspec.Struct:
            request = decode_body(_ID, data)
            await api.expire_silence(request.id)
            return DeleteReply(id=request.id)

        def alerts_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return AlertListReply(error=error, code=code)

        def alert_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return AlertRecordReply(error=error, code=code)

        def rule_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return RuleReply(error=error, code=code)

        def rules_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return RuleListReply(error=error, code=code)

        def silence_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return SilenceReply(error=error, code=code)

        def silences_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return SilenceListReply(error=error, code=code)

        def delete_error(error: str, code: ErrorCode) -> msgspec.Struct:
            return DeleteReply(error=error, code=code)

        return {
            subjects.ALERTS_API_ACTIVE: ("active", active, alerts_error),
            subjects.ALERTS_API_LIST: ("list", history, alerts_error),
            subjects.ALERTS_API_GET: ("get", get, alert_error),
            subjects.ALERTS_API_ACK: ("ack", ack, alert_error),
            subjects.ALERTS_API_RULES_LIST: ("rules_list", rules, rules_error),
            subjects.ALERTS_API_RULES_GET: ("rules_get", rule, rule_error),
            subjects.ALERTS_API_RULES_CREATE: ("rules_create", create_rule, rule_error),
            subjects.ALERTS_API_RULES_UPDATE: ("rules_update", update_rule, rule_error),
            subjects.ALERTS_API_RULES_DELETE: ("rules_delete", delete_rule, delete_error),
            subjects.ALERTS_API_SILENCES_LIST: ("silences_list", silences, silences_error),
            subjects.ALERTS_API_SILENCES_CREATE: (
                "silences_create",
                create_silence,
                silence_error,
            ),
            subjects.ALERTS_API_SILENCES_EXPIRE: (
                "silences_expire",
                expire_silence,
                delete_error,
            ),
        }

    async def start(self) -> None:
        """Subscribe every endpoint in the queue group, so that replicas share the requests."""
        for subject, (operation, run, error_reply) in self._endpoints().items():

            async def callback(
                msg: Msg,
                operation: str = operation,
                run: Run = run,
                error: ErrorReply = error_reply,
            ) -> None:  # defaults bind this endpoint's values, not the loop's last
                await self._serve(msg, operation, run, error)

            self._subscriptions.append(
                await self.nc.subscribe(
                    endpoint_subscription(subject), queue=subjects.ALERTS_QUEUE_GROUP, cb=callback
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

    async def _serve(self, msg: Msg, operation: str, run: Run, error_reply: ErrorReply) -> None:
        async def call() -> msgspec.Struct:
            return await run(msg.data, request_caller(msg))

        await serve_nats(
            msg, operation, call, error_reply, requests=metrics.REQUESTS, transient=TRANSIENT
        )
