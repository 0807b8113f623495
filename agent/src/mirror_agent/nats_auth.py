"""How the agent proves who it is to NATS: a credentials file, and its own inbox.

`credentials_file` holds either a decentralised-JWT `.creds` file or, as `mirror-stage agent
enroll` writes it, an NKey user seed alone. Replies to the agent (JetStream acks, its
consumer's messages) come under `_INBOX.<host id>`, the one inbox its permissions let it read.
"""

from pathlib import Path
from typing import Any

__all__ = ["connect_options", "inbox_prefix"]

_JWT_MARKER = "-----BEGIN NATS USER JWT-----"


def inbox_prefix(host_id: str) -> str:
    """The agent's inbox prefix: replies to it are published under it alone."""
    return f"_INBOX.{host_id}"


def connect_options(credentials_file: str | None, host_id: str | None) -> dict[str, Any]:
    """nats.connect() keyword arguments for this identity."""
    options: dict[str, Any] = {}
    if host_id is not None:
        options["inbox_prefix"] = inbox_prefix(host_id)
    if credentials_file is None:
        return options
    if _JWT_MARKER in Path(credentials_file).read_text(encoding="utf-8", errors="replace"):
        options["user_credentials"] = credentials_file
    else:
        options["nkeys_seed"] = credentials_file
    return options
