"""Joining the stack with a join token (`mirror-agent --join TOKEN`, or `join_token`).

The agent makes its own NKey seed and ingest token, keeps them in `identity_dir` (0600) before
it asks, and sends only their public parts (mirror_schema.joins). Accepted, it keeps the
answer (the commands' signing key, the token's tags) beside them and runs as itself from then
on; on a later start it finds them and asks nothing. A join waiting for approval is asked
again, less and less often, for at most JOIN_WAIT_SECONDS; a refusal ends the agent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec
import nats.aio.client
import nats.errors
import nkeys

from mirror_schema import identities, subjects
from mirror_schema.joins import JoinReply, JoinRequest, parse_join_token
from mirror_schema.nats_credentials import credential_options, server_urls

__all__ = ["JoinError", "Joined", "join"]

log = logging.getLogger(__name__)

SEED_FILE: Final = "identity.nk"
INGEST_TOKEN_FILE: Final = "ingest-token"  # noqa: S105 - a file name
JOINED_FILE: Final = "joined.json"
REQUEST_TIMEOUT_SECONDS: Final = 30.0  # the enroller reloads nats-server before the next
FIRST_RETRY_SECONDS: Final = 2.0
LAST_RETRY_SECONDS: Final = 60.0
JOIN_WAIT_SECONDS: Final = 24 * 3600.0
KNOWN_POLL_SECONDS: Final = 0.5
TOKEN_REFUSALS: Final = 3  # in a row, a few seconds apart: the token no longer admits


class JoinError(RuntimeError):
    """The join was refused, or could not be made within its time."""


class TokenRefusedError(RuntimeError):
    """nats-server refused the join token's user."""


@dataclass(frozen=True)
class Joined:
    """What the agent runs with once joined."""

    credentials_file: str
    ingest_token: str
    signing_public_key: str | None
    tags: dict[str, str]


class _Answer(msgspec.Struct, frozen=True, kw_only=True):
    host_id: str
    signing_public_key: str | None = None
    tags: dict[str, str] = {}


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(text + "\n")


def _secrets(identity_dir: Path) -> tuple[str, str]:
    """The agent's NKey seed and ingest token, made once and kept."""
    identity_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    seed_path, token_path = identity_dir / SEED_FILE, identity_dir / INGEST_TOKEN_FILE
    if not seed_path.exists():
        _write_secret(seed_path, nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode())
    if not token_path.exists():
        _write_secret(token_path, secrets.token_urlsafe(32))
    return seed_path.read_text().strip(), token_path.read_text().strip()


def _joined(identity_dir: Path, host_id: str, answer: _Answer, token: str) -> Joined:
    if answer.host_id != host_id:
        raise JoinError(
            f"{identity_dir / JOINED_FILE} is for host {answer.host_id!r}, not {host_id!r}: "
            "this identity belongs to another host id; remove the directory to join anew"
        )
    return Joined(
        credentials_file=str(identity_dir / SEED_FILE),
        ingest_token=token,
        signing_public_key=answer.signing_public_key,
        tags=dict(answer.tags),
    )


async def join(
    join_token: str,
    host_id: str,
    identity_dir: Path,
    nats_url: str,
    tls_ca_file: str | None = None,
    wait_seconds: float = JOIN_WAIT_SECONDS,
) -> Joined:
    """The agent's identity: kept from an earlier join, or asked for now with `join_token`."""
    joined_path = identity_dir / JOINED_FILE
    seed, token = _secrets(identity_dir)
    if joined_path.exists():
        answer = msgspec.json.decode(joined_path.read_bytes(), type=_Answer)
        return _joined(identity_dir, host_id, answer, token)
    try:
        token_id, join_seed = parse_join_token(join_token)
    except ValueError as exc:
        raise JoinError(f"join token: {exc}") from None
    request = JoinRequest(
        host_id=host_id,
        public_key=nkeys.from_seed(bytearray(seed.encode())).public_key.decode(),
        ingest_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = FIRST_RETRY_SECONDS
    refusals = 0
    while True:
        try:
            reply = await _ask(nats_url, tls_ca_file, token_id, join_seed, request)
            refusals = 0
        except TokenRefusedError as exc:
            # A server in the middle of a reload may refuse a user it still has: only a
            # refusal that repeats is the token's end.
            refusals += 1
            if refusals >= TOKEN_REFUSALS:
                raise JoinError(str(exc)) from None
            reply = None
        if reply is not None and reply.status == "accepted":
            answer = _Answer(
                host_id=reply.host_id, signing_public_key=reply.signing_public_key, tags=reply.tags
            )
            if answer.host_id != host_id:
                raise JoinError(f"the stack answered for {answer.host_id!r}, not {host_id!r}")
            staging = joined_path.with_suffix(".tmp")
            staging.write_bytes(msgspec.json.encode(answer))
            staging.replace(joined_path)
            log.info("join.accepted host_id=%s", host_id)
            await _known_to_server(nats_url, tls_ca_file, seed, host_id, deadline)
            return _joined(identity_dir, host_id, answer, token)
        if reply is not None and reply.status == "refused":
            raise JoinError(f"the stack refused the join of {host_id}: {reply.detail}")
        if loop.time() + delay > deadline:
            raise JoinError(f"no acceptance of the join of {host_id} within {wait_seconds:g} s")
        log.info("join.waiting host_id=%s detail=%s", host_id, reply.detail if reply else "")
        await asyncio.sleep(delay)
        delay = min(delay * 2, LAST_RETRY_SECONDS)


async def _known_to_server(
    nats_url: str, tls_ca_file: str | None, seed: str, host_id: str, deadline: float
) -> None:
    """Wait (until `deadline`) for nats-server to let the new identity in: the enroller tells
    it after answering, once for every join it answered meanwhile."""
    loop = asyncio.get_running_loop()
    while True:
        nc = nats.aio.client.Client()
        try:
            await nc.connect(
                server_urls(nats_url),
                nkeys_seed_str=seed,
                inbox_prefix=identities.inbox_prefix(identities.agent_identity(host_id)),
                allow_reconnect=False,
                connect_timeout=5,
                max_reconnect_attempts=0,
                error_cb=_ignore,
                **credential_options(None, tls_ca_file),
            )
            return
        except (nats.errors.Error, OSError):
            if loop.time() > deadline:
                raise JoinError(
                    f"joined as {host_id}, but the NATS server did not let the new identity in "
                    "before the join's time ran out"
                ) from None
            await asyncio.sleep(KNOWN_POLL_SECONDS)
        finally:
            await nc.close()


async def _ignore(_exc: Exception) -> None:
    """Refusals while the server has not reloaded yet are expected; the loop decides."""


async def _ask(
    nats_url: str, tls_ca_file: str | None, token_id: str, join_seed: str, request: JoinRequest
) -> JoinReply | None:
    """The enroller's answer; None when the bus or the enroller did not answer."""
    prefix = identities.inbox_prefix(identities.join_identity(token_id))
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc).lower())

    nc = nats.aio.client.Client()
    try:
        await nc.connect(
            server_urls(nats_url),
            nkeys_seed_str=join_seed,
            inbox_prefix=prefix,
            allow_reconnect=False,
            connect_timeout=5,
            max_reconnect_attempts=0,
            error_cb=record,
            **credential_options(None, tls_ca_file),
        )
    except (nats.errors.Error, OSError) as exc:
        await nc.close()  # a refused connection still holds its socket until closed
        refusal = next((e for e in [*errors, str(exc).lower()] if "authorization" in e), None)
        if refusal is not None:
            raise TokenRefusedError(
                f"the stack refused the join token itself ({refusal}): it was revoked, has "
                "expired or is used up (`mirror-stage agent join-token list`)"
            ) from None
        log.warning("join.no_bus error=%s", exc)
        return None
    try:
        answer = await nc.request(
            subjects.agents_join(token_id),
            msgspec.json.encode(request),
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        return msgspec.json.decode(answer.data, type=JoinReply)
    except (nats.errors.Error, msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("join.no_answer error=%s", exc)
        return None
    finally:
        await nc.close()
