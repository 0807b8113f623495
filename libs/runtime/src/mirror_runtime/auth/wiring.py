"""How a service takes auth on: its Authority, the auth.api.* endpoints, the middleware."""

from collections.abc import Awaitable, Callable, Iterable

import structlog
from fastapi import FastAPI

from mirror_runtime.auth.accounts import Accounts, Authority
from mirror_runtime.auth.endpoints import AuthEndpoints
from mirror_runtime.auth.middleware import AuthMiddleware
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.auth.policy import AccessPolicy
from mirror_runtime.auth.remote import RemoteAccounts
from mirror_runtime.auth.revocation import Revocation
from mirror_runtime.auth.routes import auth_router
from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.auth.sockets import LiveSockets
from mirror_runtime.health import Dependencies

log = structlog.get_logger()

Stopper = Callable[[], Awaitable[None]]


async def start_auth(deps: Dependencies, settings: AuthSettings) -> tuple[Authority, Stopper]:
    """With the database: the accounts there, also answered on auth.api.* for the services
    without it. Without: those answers, over the bus."""
    if deps.pool is None:
        return RemoteAccounts(deps.nc, deps.service), _nothing
    await migrate_auth(deps.pool)
    accounts = Accounts(deps.pool, settings)
    endpoints = AuthEndpoints(deps.nc, accounts)
    await endpoints.start()
    return accounts, endpoints.stop


async def _nothing() -> None:
    return None


def protect(
    app: FastAPI,
    authority: Authority,
    settings: AuthSettings,
    public: Iterable[tuple[str, str]] = (),
) -> None:
    """Mount the login routes and require a login on every other protected route of `app`,
    except the (method, path) pairs in `public`; or, with auth off, say loudly that it is."""
    if not settings.enabled:
        log.warning("auth.off", detail="MIRROR_STAGE_HTTP_AUTH=off: every HTTP route is open")
        return
    # First: a route mounted at "/" (the twin's HUD) would otherwise take these paths.
    sockets = LiveSockets(
        authority, settings.max_sockets_per_principal, settings.socket_recheck_seconds
    )
    before = len(app.router.routes)
    app.include_router(auth_router(authority, settings, sockets))
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
    app.add_middleware(
        AuthMiddleware, authority=authority, policy=AccessPolicy(public), sockets=sockets
    )
    # For the routes through which an admin changes users and tokens (the twin's).
    app.state.revocation = Revocation(authority, sockets)
