"""How the agent proves who it is to NATS: a credentials file, and its own inbox.

`credentials_file` holds either a decentralised-JWT `.creds` file or, as `mirror-stage agent
enroll` writes it, an NKey user seed alone. Replies to the agent (JetStream acks, its
consumer's messages) come under `_INBOX.<host id>`, the one inbox its permissions let it read.
"""

from typing import Any

from mirror_schema import identities
from mirror_schema.nats_credentials import credential_options

__all__ = ["SIMULATOR_INBOX", "connect_options", "inbox_prefix"]

SIMULATOR_INBOX = identities.inbox_prefix(identities.SIMULATOR)  # apart from every agent's


def inbox_prefix(host_id: str) -> str:
    """The agent's inbox prefix: replies to it are published under it alone."""
    return identities.inbox_prefix(identities.agent_identity(host_id))


def connect_options(
    credentials_file: str | None, inbox: str | None, ca_file: str | None = None
) -> dict[str, Any]:
    """nats.connect() keyword arguments for this identity, its replies under `inbox`, trusting
    `ca_file` for a server that requires TLS."""
    options = credential_options(credentials_file, ca_file)
    if inbox is not None:
        options["inbox_prefix"] = inbox
    return options
