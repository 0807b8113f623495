"""NATS door of the history: metrics.api.history, in the queue group ``ingest``, so the twin
(which holds no database) can draw the HUD's sparklines."""

import asyncpg
import msgspec
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mirror_ingest import metrics
from mirror_ingest.history_api import InvalidHistoryQueryError, read_history
from mirror_runtime.doors import TRANSIENT, ErrorCode, serve_nats
from mirror_schema import subjects
from mirror_schema.field_errors import field_error
from mirror_schema.history import HistoryResponse
from mirror_schema.identities import endpoint_subscription
from mirror_schema.metrics_api import decode_history_request

log = structlog.get_logger()


class HistoryReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The reply to ``metrics.api.history``."""

    history: HistoryResponse | None = None
    error: str | None = None
    code: ErrorCode | None = None


class HistoryEndpoint:
    """Answers metrics.api.history from PostgreSQL."""

    def __init__(self, nc: Client, pool: asyncpg.Pool) -> None:
        self.nc = nc
        self.pool = pool
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self.nc.subscribe(
            endpoint_subscription(subjects.METRICS_API_HISTORY),
            queue=subjects.METRICS_QUEUE_GROUP,
            cb=self.on_history,
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except nats.errors.Error as exc:
                log.warning("history_endpoint.unsubscribe_failed", error=str(exc))
            self._subscription = None

    async def on_history(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            try:
                request = decode_history_request(msg.data if msg.data.strip() else b"{}")
            except msgspec.ValidationError as exc:
                raise InvalidHistoryQueryError(field_error(exc)) from None
            except msgspec.DecodeError as exc:
                raise InvalidHistoryQueryError(f"body: not JSON ({exc})") from None
            history = await read_history(
                self.pool, request.host, request.since, request.until, request.step
            )
            return HistoryReply(history=history)

        await serve_nats(
            msg,
            "history",
            run,
            lambda error, code: HistoryReply(error=error, code=code),
            requests=metrics.REQUESTS,
            transient=TRANSIENT,
        )
