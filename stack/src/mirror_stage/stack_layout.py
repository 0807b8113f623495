"""Where the embedded stack keeps its state and which ports its parts use."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mirror_runtime.config import (
    DB_URL,
    HTTP_HOST,
    NATS_URL,
    PORTS,
    TLS_CA_FILE,
    read_certificate,
)
from mirror_runtime.environment import BadValueError, stage_environment
from mirror_stage.natsd import DEFAULT_SYNC_INTERVAL, tls_block
from mirror_stage.settings import DATA_DIR, NATS_SYNC_INTERVAL

DATABASE_NAME = "mirror_stage"


@dataclass(frozen=True, kw_only=True)
class StackLayout:
    """Everything `mirror-stage up` decides from its flags and the environment, before it starts."""

    data_dir: Path
    nats_host: str
    nats_port: int
    service_ports: Mapping[str, int]
    external_db_url: str | None
    log_format: str
    nats_sync_interval: str = DEFAULT_SYNC_INTERVAL
    # With a certificate (MIRROR_STAGE_TLS_CERT_FILE and ..._KEY_FILE), the services serve
    # HTTPS and the embedded nats-server requires TLS; clients trust tls_ca_file, else the
    # system's authorities.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_ca_file: str | None = None
    # With --cluster: the other nodes' client URLs (the first node is nats_host:nats_port).
    nats_other_urls: tuple[str, ...] = ()
    # The address the services' HTTP ports listen on (MIRROR_STAGE_HTTP_HOST).
    http_host: str = HTTP_HOST.default

    @property
    def https(self) -> bool:
        """Whether the stack serves HTTPS and NATS over TLS."""
        return self.tls_cert_file is not None

    def nats_server_settings(self, authorization: str) -> str:
        """The server's config beyond JetStream: its users, and TLS when configured."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return authorization
        return authorization + tls_block(self.tls_cert_file, self.tls_key_file)

    @property
    def nats_url(self) -> str:
        """The first (or only) node's URL."""
        return f"nats://{self.nats_host}:{self.nats_port}"

    @property
    def nats_urls(self) -> str:
        """What every part connects with: every node's URL, comma-separated (a client fails
        over between them)."""
        return ",".join((self.nats_url, *self.nats_other_urls))

    @property
    def nats_users_path(self) -> Path:
        """The users block every node of the stack's NATS includes (rewritten on enroll)."""
        return self.data_dir / "nats-users.conf"

    @property
    def nats_route_credentials_path(self) -> Path:
        """The user and password the nodes of a cluster require of each other's routes."""
        return self.identities_dir / "nats-route.json"

    def nats_node_store_dir(self, node: int) -> Path:
        """Where node `node` (1, 2, ...) of the stack's NATS keeps its streams; the first is
        the single server's, so a stack can grow into a cluster (cluster_adoption)."""
        return self.nats_store_dir if node == 1 else self.data_dir / f"nats-{node}"

    @property
    def stream_rebuilds_dir(self) -> Path:
        """Where a stream being rebuilt keeps its snapshot until its restore (beside the
        streams' store: as large as the stream)."""
        return self.data_dir / "stream-rebuilds"

    @property
    def logs_dir(self) -> Path:
        """One log file per part."""
        return self.data_dir / "logs"

    @property
    def identities_dir(self) -> Path:
        """The NATS identities: one credentials file each, and their registry."""
        return self.data_dir / "identities"

    @property
    def admin_credentials(self) -> str:
        """The credentials file the launcher and `mirror-stage agent` connect with."""
        return str(self.identities_dir / "admin.nk")

    @property
    def nats_store_dir(self) -> Path:
        """Where nats-server keeps the streams; its config file and pid file sit beside."""
        return self.data_dir / "nats"

    def service_url(self, part: str) -> str:
        """Base HTTP URL of a service (TWIN, INGEST, ...)."""
        scheme = "https" if self.https else "http"
        return f"{scheme}://{url_host(self.http_host)}:{self.service_ports[part]}"


def url_host(listen_host: str) -> str:
    """How this machine reaches a port listening on `listen_host`: loopback for every
    interface, an IPv6 address in brackets."""
    if listen_host in ("0.0.0.0", "::"):
        return "127.0.0.1" if listen_host == "0.0.0.0" else "[::1]"
    return f"[{listen_host}]" if ":" in listen_host else listen_host


def stack_layout(
    environ: Mapping[str, str], *, data_dir: Path | None = None, log_format: str = "json"
) -> StackLayout:
    """Read the MIRROR_STAGE_* environment (unknown names are refused) into a StackLayout."""
    env = stage_environment(environ)
    raw_url = NATS_URL.read(env)
    url = urlsplit(raw_url)
    if url.scheme != "nats" or not url.hostname or url.port is None:
        raise BadValueError(NATS_URL.variable, raw_url, "nats://HOST:PORT")
    chosen_dir = data_dir or Path(DATA_DIR.read(env))
    certificate = read_certificate(env)
    return StackLayout(
        data_dir=Path(os.path.abspath(chosen_dir)),
        nats_host=url.hostname,
        nats_port=url.port,
        service_ports={part: setting.read(env) for part, setting in PORTS.items()},
        external_db_url=DB_URL.read(env),
        log_format=log_format,
        nats_sync_interval=NATS_SYNC_INTERVAL.read(env),
        tls_cert_file=certificate[0] if certificate else None,
        tls_key_file=certificate[1] if certificate else None,
        tls_ca_file=TLS_CA_FILE.read(env),
        http_host=HTTP_HOST.read(env),
    )


def busy_ports(layout: StackLayout, is_free: Callable[[int, str], bool]) -> list[str]:
    """Names of the settings whose port is already taken, to refuse to start with a clear error;
    `is_free(port, host)` checks a port on the address it will listen on."""
    taken = []
    if not is_free(layout.nats_port, layout.nats_host):
        taken.append(f"{layout.nats_port} (NATS, from {NATS_URL.variable})")
    for part, port in layout.service_ports.items():
        if not is_free(port, layout.http_host):
            taken.append(f"{port} ({part.lower()}, from {PORTS[part].variable})")
    return taken
