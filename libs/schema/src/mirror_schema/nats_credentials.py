"""A NATS credentials file as nats.connect() arguments, for services and agents alike.

The file is either a decentralised-JWT ``.creds`` file or, as MIRROR STAGE's enrollment
writes it, an NKey user seed alone (``SU...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

__all__ = ["credential_options"]

_JWT_MARKER: Final = "-----BEGIN NATS USER JWT-----"


def credential_options(credentials_file: str | None) -> dict[str, Any]:
    """nats.connect() keyword arguments for the identity in ``credentials_file`` (none: {})."""
    if credentials_file is None:
        return {}
    if _JWT_MARKER in Path(credentials_file).read_text(encoding="utf-8", errors="replace"):
        return {"user_credentials": credentials_file}
    return {"nkeys_seed": credentials_file}
