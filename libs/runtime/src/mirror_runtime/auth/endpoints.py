"""auth.api.* on the bus (queue group ``auth``): the accounts, for services without the database."""

from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
import nats.aio.client
import nats.aio.subscription
import nats.errors
import prometheus_client
import structlog
from nats.aio.msg import Msg

from mirror_runtime.auth.accounts import Accounts
from mirror_runtime.auth.errors import LockedError, decode_request
from mirror_runtime.doors import TRANSIENT, serve_nats
from mirror_schema import subjects
from mirror_schema.auth_api import (
    AuthenticateRequest,
    ErrorCode,
    LoginReply,
    LoginRequest,
    LogoutRequest,
    OkReply,
    PasswordRequest,
    PrincipalReply,
)
from mirror_schema.identities import endpoint_subscription

log = structlog.get_logger()

REQUESTS: Final = prometheus_client.Counter(
    "mirror_auth_requests",
    "Login, authentication and logout requests answered, by operation, door and outcome",
    ["operation", "door", "outcome"],
)


class AuthEndpoints:
    """The subscriptions answering auth.api.* from `accounts`."""

    def __init__(self, nc: nats.aio.client.Client, accounts: Accounts) -> None:
        self.nc = nc
        self.accounts = accounts
        self._subscriptions: list[nats.aio.subscription.Subscription] = []

    async def start(self) -> None:
        """Subscribe each endpoint in the queue group ``auth``."""
        endpoints: dict[str, Callable[[Msg], Awaitable[None]]] = {
            subjects.AUTH_API_LOGIN: self.on_login,
            subjects.AUTH_API_AUTHENTICATE: self.on_authenticate,
            subjects.AUTH_API_LOGOUT: self.on_logout,
            subjects.AUTH_API_PASSWORD: self.on_password,
        }
        for subject, callback in endpoints.items():
            self._subscriptions.append(
                await self.nc.subscribe(
                    endpoint_subscription(subject), queue=subjects.AUTH_QUEUE_GROUP, cb=callback
                )
            )

    async def stop(self) -> None:
        """Stop answering."""
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except nats.errors.Error as exc:
                log.warning("auth.unsubscribe_failed", error=str(exc))
        self._subscriptions = []

    async def on_login(self, msg: Msg) -> None:
        retry_after: list[float] = []

        async def run() -> msgspec.Struct:
            request = decode_request(msg.data, LoginRequest)
            try:
                session = await self.accounts.login(request.user, request.password, request.client)
            except LockedError as exc:
                retry_after.append(exc.retry_after_seconds)
                raise
            return LoginReply(
                session=session.secret,
                csrf=session.csrf,
                principal=session.principal,
                expires_at=session.expires_at,
                password_change_required=session.password_change_required,
            )

        def error(detail: str, code: ErrorCode) -> LoginReply:
            retry = retry_after[0] if retry_after else None
            return LoginReply(error=detail, code=code, retry_after_seconds=retry)

        await self._serve(msg, "login", run, error)

    async def on_authenticate(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode_request(msg.data, AuthenticateRequest)
            found = await self.accounts.authenticate(session=request.session, token=request.token)
            return PrincipalReply(
                principal=found.principal,
                csrf=found.csrf,
                password_change_required=found.password_change_required,
            )

        await self._serve(msg, "authenticate", run, lambda e, c: PrincipalReply(error=e, code=c))

    async def on_logout(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            await self.accounts.logout(decode_request(msg.data, LogoutRequest).session)
            return OkReply()

        await self._serve(msg, "logout", run, lambda e, c: OkReply(ok=False, error=e, code=c))

    async def on_password(self, msg: Msg) -> None:
        async def run() -> msgspec.Struct:
            request = decode_request(msg.data, PasswordRequest)
            await self.accounts.change_password(request.user, request.current, request.new)
            return OkReply()

        await self._serve(msg, "password", run, lambda e, c: OkReply(ok=False, error=e, code=c))

    async def _serve(
        self,
        msg: Msg,
        operation: str,
        run: Callable[[], Awaitable[msgspec.Struct]],
        error: Callable[[str, ErrorCode], msgspec.Struct],
    ) -> None:
        await serve_nats(msg, operation, run, error, requests=REQUESTS, transient=TRANSIENT)
