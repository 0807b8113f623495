"""run_service(): connect NATS and PostgreSQL, serve HTTP, and drain cleanly on SIGTERM."""

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import asyncpg
import nats
import nats.aio.client
import nats.errors
import structlog
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mirror_runtime.auth.wiring import protect, start_auth
from mirror_runtime.config import ServiceConfig
from mirror_runtime.health import Dependencies
from mirror_runtime.http import SecurityHeadersMiddleware
from mirror_runtime.migrations import MigrationError
from mirror_schema import identities
from mirror_schema.nats_credentials import credential_options, server_urls

log = structlog.get_logger()

GRACEFUL_SHUTDOWN_SECONDS = 3
# The largest message a WebSocket client may send (the HUD sends only "frame").
WS_MAX_MESSAGE_BYTES = 64 * 2**10

Stopper = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Started:
    """What a service's start hook made: the HTTP app over its parts, and what to await on
    shutdown, before NATS drains."""

    app: FastAPI
    stop: Stopper | None = None


# Runs after NATS and PostgreSQL are connected and before HTTP serves: migrations, consumers,
# then the app that serves them.
Starter = Callable[[Dependencies], Awaitable[Started]]


class StartupError(RuntimeError):
    """A dependency could not be reached in time at start-up."""


async def connect_nats(config: ServiceConfig) -> nats.aio.client.Client:
    """Connect to NATS, retrying for `nats_connect_timeout_seconds`; later, reconnect forever."""

    client: nats.aio.client.Client | None = None

    async def on_disconnected() -> None:
        if client is not None and (client.is_closed or client.is_draining):
            return  # our own shutdown, not a fault
        log.warning("nats.disconnected", service=config.name)

    async def on_reconnected() -> None:
        log.info("nats.reconnected", service=config.name)

    refused = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", service=config.name, error=str(exc))
        if "authorization violation" in str(exc).lower():
            refused.set()  # nats-py would keep retrying: stop at once, saying why

    try:
        async with asyncio.timeout(config.nats_connect_timeout_seconds):
            while True:
                connecting = asyncio.create_task(
                    nats.connect(
                        server_urls(config.nats_url),
                        name=config.name,
                        connect_timeout=2,
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=1,
                        disconnected_cb=on_disconnected,
                        reconnected_cb=on_reconnected,
                        error_cb=on_error,
                        inbox_prefix=identities.inbox_prefix(config.name),
                        **credential_options(config.nats_credentials_file, config.tls_ca_file),
                    )
                )
                refusal = asyncio.create_task(refused.wait())
                try:
                    await asyncio.wait({connecting, refusal}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    # On the deadline too: a connection attempt left running would keep
                    # retrying (max_reconnect_attempts=-1) and hold the process open.
                    refusal.cancel()
                    if not connecting.done():
                        connecting.cancel()
                        await asyncio.gather(connecting, return_exceptions=True)
                if refused.is_set():
                    raise StartupError(
                        f"the NATS server at {config.nats_url} refused this service's "
                        "credentials (MIRROR_STAGE_NATS_CREDENTIALS_FILE: "
                        f"{config.nats_credentials_file or 'not set'})"
                    )
                try:
                    client = connecting.result()
                    return client
                except (OSError, nats.errors.NoServersError, nats.errors.TimeoutError) as exc:
                    log.info("nats.waiting", url=config.nats_url, error=str(exc))
                    await asyncio.sleep(0.5)
    except TimeoutError:
        raise StartupError(
            f"no NATS server answered at {config.nats_url} within "
            f"{config.nats_connect_timeout_seconds:.0f} s; is it running "
            "(mirror-stage up starts one) and is MIRROR_STAGE_NATS_URL right?"
        ) from None


async def connect_db(config: ServiceConfig) -> asyncpg.Pool | None:
    """A small asyncpg pool when MIRROR_STAGE_DB_URL is set, else None."""
    if config.db_url is None:
        return None
    try:
        async with asyncio.timeout(config.nats_connect_timeout_seconds):
            while True:
                try:
                    pool: asyncpg.Pool = await asyncpg.create_pool(
                        config.db_url, min_size=1, max_size=config.db_pool_size
                    )
                    return pool
                except (OSError, asyncpg.CannotConnectNowError) as exc:
                    log.info("db.waiting", error=str(exc))
                    await asyncio.sleep(0.5)
                except asyncpg.InvalidAuthorizationSpecificationError as exc:
                    # A wrong password or a role not made yet: waiting will not mend it.
                    raise StartupError(
                        f"PostgreSQL refused MIRROR_STAGE_DB_URL's login ({exc}); each service "
                        "has its own role, made by `mirror-stage db migrate` or mirror-stage up"
                    ) from None
    except TimeoutError:
        raise StartupError(
            "PostgreSQL did not answer at MIRROR_STAGE_DB_URL within "
            f"{config.nats_connect_timeout_seconds:.0f} s"
        ) from None


async def run_service(
    config: ServiceConfig,
    start: Starter,
    public: Iterable[tuple[str, str]] = (),
) -> None:
    """Run one service until SIGTERM or SIGINT, then stop HTTP and drain NATS.

    Its HTTP routes need a login (mirror_runtime.auth) unless `config.auth` is off, except
    the (method, path) pairs in `public` and health, metrics and the login itself.
    """
    nc = await connect_nats(config)
    pool = await connect_db(config)
    deps = Dependencies(config.name, nc, pool)
    started = await start(deps)
    authority, stop_auth = await start_auth(deps, config.auth)
    app = started.app
    protect(app, authority, config.auth, public)
    if config.openapi:
        serve_openapi(app)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on every answer
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.http_host,
            port=config.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            # Past this, connections still open are dropped: a WebSocket client that stopped
            # reading would otherwise hold the shutdown until the process is killed.
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            ssl_certfile=config.tls_cert_file,  # HTTPS when both are set
            ssl_keyfile=config.tls_key_file,
            # X-Forwarded-For names the client only when the peer is a trusted proxy;
            # uvicorn's own default would believe any local process.
            proxy_headers=bool(config.trusted_proxies),
            forwarded_allow_ips=list(config.trusted_proxies) or None,
            ws_max_size=WS_MAX_MESSAGE_BYTES,
            server_header=False,
        )
    )
    # uvicorn re-raises the signal it caught once it has shut down; this handler takes it
    # so that the process goes on to drain NATS and exits 0 instead of dying by the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)
    log.info("service.starting", service=config.name, port=config.http_port)
    try:
        await server.serve()
    except SystemExit:
        # uvicorn exits (code 3, its own message logged) when it cannot bind the port: said
        # below as a StartupError naming the port, after the parts started are stopped.
        if server.started:
            raise
    finally:
        log.info("service.stopping", service=config.name)
        await stop_auth()
        if started.stop is not None:
            await started.stop()
        await _close_nats(nc)
        if pool is not None:
            await pool.close()
    if not server.started:
        raise StartupError(f"{config.name} could not serve HTTP on port {config.http_port}")
    log.info("service.stopped", service=config.name)


def serve_openapi(app: FastAPI) -> None:
    """GET /openapi.json, the API's description (public: it describes, it holds no data)."""

    async def openapi(_request: Request) -> JSONResponse:
        return JSONResponse(app.openapi())

    # First: a route mounted at "/" (the twin's HUD) would otherwise take the path.
    app.router.routes.insert(0, Route("/openapi.json", openapi, include_in_schema=False))


async def _close_nats(nc: nats.aio.client.Client) -> None:
    """Drain (deliver what is buffered, then close); a connection cut off cannot drain, so it
    is only closed: stopping must not fail because the server went away first."""
    if nc.is_closed:
        return
    try:
        await nc.drain()
    except (nats.errors.Error, TimeoutError) as exc:
        log.warning("nats.drain_failed", error=str(exc))
        await nc.close()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (Linux, macOS): HTTP and NATS I/O cost less."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(
    config: ServiceConfig,
    start: Starter,
    public: Iterable[tuple[str, str]] = (),
) -> int:
    """Entry point for a service's __main__: run it and turn start-up failures into exit 1."""
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(run_service(config, start, public))
    except (StartupError, MigrationError) as exc:
        log.error("service.failed", service=config.name, error=str(exc))
        return 1
    return 0
