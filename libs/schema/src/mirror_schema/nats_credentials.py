"""A NATS credentials file as nats.connect() arguments, for services and agents alike.

The file is either a decentralised-JWT ``.creds`` file or, as MIRROR STAGE's enrollment
writes it, an NKey user seed alone (``SU...``).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Final

__all__ = ["credential_options"]

_JWT_MARKER: Final = "-----BEGIN NATS USER JWT-----"


def credential_options(credentials_file: str | None, ca_file: str | None = None) -> dict[str, Any]:
    """nats.connect() keyword arguments for the identity in ``credentials_file`` (none: {}),
    trusting the certificate authority in ``ca_file`` for a server that requires TLS (without
    it, a server requiring TLS is checked against the system's trusted authorities)."""
    options: dict[str, Any] = {}
    if ca_file is not None:
        options["tls"] = ssl.create_default_context(cafile=ca_file)
    if credentials_file is None:
        return options
    if _JWT_MARKER in Path(credentials_file).read_text(encoding="utf-8", errors="replace"):
        return options | {"user_credentials": credentials_file}
    return options | {"nkeys_seed": credentials_file}


def server_urls(url: str) -> list[str]:
    """The servers of a NATS URL setting: one URL, or a cluster's as a comma-separated list
    (``nats://a:4222,nats://b:4222``). The client connects to any of them and fails over."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError(f"no NATS server in {url!r}")
    return servers
