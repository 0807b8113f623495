"""RemoteAccounts: the Authority of a service without the database, asking over the bus."""

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Literal, NoReturn, TypeVar

import msgspec
import nats.aio.client
import nats.errors
import structlog

from mirror_runtime.auth import credentials
from mirror_runtime.auth.accounts import Authenticated, Session
from mirror_runtime.auth.errors import (
    ForbiddenError,
    InvalidAuthRequestError,
    LockedError,
    UnauthorizedError,
)
from mirror_runtime.doors import ApiError
from mirror_runtime.replies import open_reply
from mirror_schema import codec
from mirror_schema.api import ErrorCode, Operation
from mirror_schema.auth_api import (
    AuthenticateRequest,
    LoginRequest,
    LogoutRequest,
    PasswordRequest,
)
from mirror_schema.auth_operations import AUTHENTICATE, LOGIN, LOGOUT, PASSWORD
from mirror_schema.identities import request_subject

log = structlog.get_logger()

# A checked credential is trusted this long without asking again: a logout here or a removed
# user or token elsewhere takes effect within it.
CACHE_SECONDS: Final = 5.0
# While no service holding the accounts answers (the database is down), a credential
# confirmed within this long is still taken, so that the HUD keeps working through an outage;
# one never confirmed is refused with 503.
OUTAGE_GRACE_SECONDS: Final = 300.0
CACHE_ENTRIES: Final = 4096

R = TypeVar("R")


class UnavailableError(ApiError):
    """No service holding the accounts answered: 503."""

    status = 503
    code: ErrorCode = "unavailable"


def _raise(refused: ApiError) -> NoReturn:
    """The auth error of a refusal, by its code (a socket's check tells an ended credential,
    401, from an outage, 503); any other, a service that failed or an odd reply, is 503."""
    error, code = refused.detail, refused.code
    if code == "unauthorized":
        raise UnauthorizedError(error)
    if code == "forbidden":
        raise ForbiddenError(error)
    if code == "locked":
        raise LockedError(error, refused.retry_after_seconds or 0.0)
    if code == "invalid":
        raise InvalidAuthRequestError(error)
    raise UnavailableError(error)


class RemoteAccounts:
    """auth.api.* requests, with the answers to authenticate cached briefly."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        caller: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nc = nc
        self.caller = caller  # this service's identity: its requests go on <subject>.<caller>
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, Authenticated]] = OrderedDict()

    async def _request(self, operation: Operation[Any, R], body: msgspec.Struct) -> R:
        """The result of `operation`, or its failure raised as the error it names."""
        subject = operation.subject
        assert subject is not None
        try:
            msg = await self.nc.request(
                request_subject(subject, self.caller),
                codec.encode(body),
                timeout=operation.reply_within_seconds,
            )
        except (nats.errors.Error, TimeoutError) as exc:
            raise UnavailableError(
                f"no service answered {subject} ({exc}): is the commands, alerts or ingest "
                "service running?"
            ) from None
        try:
            result: R = open_reply(operation, msg.data)
        except ApiError as refused:
            _raise(refused)
        return result

    async def login(self, user: str, password: str, client: str | None) -> Session:
        """A session from whichever service answers; confirmed here as it is opened, so that
        its first requests need no round trip (and outlive a starved bus as any confirmed
        session does, OUTAGE_GRACE_SECONDS)."""
        reply = await self._request(
            LOGIN, LoginRequest(user=user, password=password, client=client)
        )
        session = Session(
            secret=reply.session,
            csrf=credentials.csrf_token(reply.session),
            principal=reply.principal,
            expires_at=reply.expires_at,
            password_change_required=reply.password_change_required,
        )
        self._remember(
            "s:" + credentials.digest(session.secret),
            Authenticated(
                principal=session.principal,
                csrf=session.csrf,
                password_change_required=session.password_change_required,
            ),
        )
        return session

    async def authenticate(
        self, *, session: str | None = None, token: str | None = None, fresh: bool = False
    ) -> Authenticated:
        """Who holds the credential, from the cache when asked within CACHE_SECONDS (unless
        `fresh`: a live socket's check asks the accounts every time)."""
        secret = session if session is not None else token
        if secret is None:
            raise UnauthorizedError("no credentials: log in, or send Authorization: Bearer <token>")
        key = ("s:" if session is not None else "t:") + credentials.digest(secret)
        cached = self._cache.get(key)
        now = self.clock()
        if not fresh and cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            reply = await self._request(
                AUTHENTICATE, AuthenticateRequest(session=session, token=token)
            )
        except UnavailableError:
            if cached is not None and now - cached[0] < OUTAGE_GRACE_SECONDS:
                log.warning("auth.outage_grace", principal=cached[1].principal.actor)
                return cached[1]
            raise
        found = Authenticated(
            principal=reply.principal,
            csrf=reply.csrf,
            password_change_required=reply.password_change_required,
        )
        self._remember(key, found)
        return found

    def _remember(self, key: str, found: Authenticated) -> None:
        self._cache[key] = (self.clock(), found)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    async def logout(self, session: str) -> None:
        """End the session everywhere, and here at once."""
        self._cache.pop("s:" + credentials.digest(session), None)
        await self._request(LOGOUT, LogoutRequest(session=session))

    async def change_password(self, user: str, current: str, new: str) -> None:
        """Change the password through whichever service answers."""
        await self._request(PASSWORD, PasswordRequest(user=user, current=current, new=new))
        # Every session of the user ended: none of them is taken from the cache any more.
        self.forget("user", user)

    def forget(self, kind: Literal["user", "token"], name: str) -> None:
        """Drop the cached answers for the user's sessions or the token: an admin removed,
        reset or changed them through this service, which takes effect here at once."""
        for key in [k for k, (_, found) in self._cache.items() if _is_of(found, kind, name)]:
            del self._cache[key]


def _is_of(found: Authenticated, kind: Literal["user", "token"], name: str) -> bool:
    return found.principal.kind == kind and found.principal.name == name
