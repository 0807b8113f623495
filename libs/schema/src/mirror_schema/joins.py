"""An agent joining with a join token: its request and the enroller's answer.

The agent makes its own NKey and ingest token and sends only their public parts: its NKey's
public key becomes its identity on the bus, the token's SHA-256 what the ingest checks. So no
secret travels, and holders of the same join token learn nothing of each other's. The token's
id is in the request's subject (`agents.join.<token id>`), which only that token's holders
may publish: the server vouches for which token was used.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from mirror_schema.hosts import HostId

__all__ = [
    "JoinReply",
    "JoinRequest",
    "JoinStatus",
    "format_join_token",
    "join_request_error",
    "parse_join_token",
]

# busy: too many requests with this token just now; ask again later, as for pending.
JoinStatus = Literal["accepted", "pending", "refused", "busy"]

_NKEY_USER_PUBLIC: Final = re.compile(r"U[A-Z2-7]{55}")
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_TOKEN: Final = re.compile(r"MSJ1\.([a-z0-9]{12})\.(SU[A-Z2-7]{56})")


class JoinRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a joining agent asks: to be `host_id`, known by the public parts of its secrets."""

    host_id: HostId
    public_key: Annotated[str, msgspec.Meta(max_length=56)]  # its NKey user's, `U...`
    ingest_token_sha256: Annotated[str, msgspec.Meta(max_length=64)]  # hex


class JoinReply(msgspec.Struct, frozen=True, kw_only=True):
    """The enroller's answer; `accepted` carries what the agent needs to work as itself."""

    status: JoinStatus
    detail: str
    host_id: str
    # The commands service's public key, to check the commands it signs.
    signing_public_key: str | None = None
    # The join token's tags, for the agent's samples (its own config's win).
    tags: dict[str, str] = {}


def join_request_error(request: JoinRequest) -> str | None:
    """What is wrong with a decoded request's keys, naming the field; None when nothing."""
    if not _NKEY_USER_PUBLIC.fullmatch(request.public_key):
        return "public_key: not an NKey user's public key (U followed by 55 base32 characters)"
    if not _SHA256_HEX.fullmatch(request.ingest_token_sha256):
        return "ingest_token_sha256: not a SHA-256 in lowercase hex (64 characters)"
    return None


def parse_join_token(token: str) -> tuple[str, str]:
    """The token's id and the NKey seed its holders connect with; ValueError when it is none."""
    found = _TOKEN.fullmatch(token.strip())
    if found is None:
        raise ValueError(
            "not a join token: `mirror-stage agent join-token create` prints one, "
            "MSJ1.<12 letters or digits>.<NKey seed>"
        )
    return found[1], found[2]


def format_join_token(token_id: str, seed: str) -> str:
    """The join token its holders are given (parse_join_token reads it back)."""
    return f"MSJ1.{token_id}.{seed}"
