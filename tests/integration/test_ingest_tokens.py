"""The gateway with per-agent tokens (Bearer, or HTTP Basic naming the host): no token or an
unknown one is 401, a token posts for its own host only (403 naming the sample), and the
tokens file is re-read when it changes."""

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import nats.aio.client
import pytest_asyncio
from ingest_gateway_helpers import Gateway, at, batch, config, delete_streams, detail, open_gateway

from mirror_ingest.tokens import TokenEntry, TokensFile, token_digest
from waiting import wait_until

TOKEN_A = "token-for-host-a-" + "x" * 32


def write_tokens(path: Path, tokens: dict[str, str]) -> None:
    """The tokens file: token -> host, stored as digests."""
    entries = [TokenEntry(host_id=host, sha256=token_digest(t)) for t, host in tokens.items()]
    path.write_bytes(msgspec.json.encode(TokensFile(tokens=entries)))


@pytest_asyncio.fixture
async def guarded(
    nc: nats.aio.client.Client, unique: str, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Path]]:
    path = tmp_path / "ingest-tokens.json"
    write_tokens(path, {TOKEN_A: "host-a"})
    settings = config(tokens_file=str(path))
    async with open_gateway(
        nc, settings=settings, prefix=f"T{unique}_", subject_prefix=f"t{unique}"
    ) as gw:
        yield gw, path
    await delete_streams(nc, f"T{unique}_")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_without_a_known_token_nothing_is_accepted(
    guarded: tuple[Gateway, Path],
) -> None:
    gateway, _ = guarded
    body = batch(at(5, host_id="host-a"))
    for headers in ({}, bearer("guessed"), {"Authorization": f"Token {TOKEN_A}"}):
        response = await gateway.post(body, headers=headers)
        assert response.status_code == 401, response.text
        assert "an enrolled agent's token is required" in detail(response)
        assert response.headers["WWW-Authenticate"] == 'Bearer, Basic realm="MIRROR STAGE agents"'
    assert await gateway.count() == 0


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_basic_credentials_name_the_tokens_own_host_or_are_refused(
    guarded: tuple[Gateway, Path],
) -> None:
    """An unchanged REFLECTOR sends its URL's `HOST:TOKEN@` as HTTP Basic: accepted when the
    user is the token's host; another host's name, a guessed token, or garbage is 401, and
    the token still posts for its own host only."""
    gateway, _ = guarded
    refusals = {
        "Basic user 'host-b' is not the host this token was issued for": basic("host-b", TOKEN_A),
        "an enrolled agent's token is required": basic("host-a", "guessed"),
        "not base64 of HOST:TOKEN": {"Authorization": "Basic ***not-base64***"},
    }
    for expected, headers in refusals.items():
        refused = await gateway.post(batch(at(5, host_id="host-b")), headers=headers)
        assert refused.status_code == 401, refused.text
        assert expected in detail(refused)
    assert (
        await gateway.post(batch(at(5, host_id="host-a")), headers=basic("host-a", TOKEN_A))
    ).status_code == 202
    theirs = await gateway.post(batch(at(4, host_id="host-b")), headers=basic("host-a", TOKEN_A))
    assert theirs.status_code == 403, theirs.text
    assert await gateway.count() == 1


async def test_a_token_posts_for_its_own_host_only(guarded: tuple[Gateway, Path]) -> None:
    gateway, _ = guarded
    mine = await gateway.post(batch(at(5, host_id="host-a")), headers=bearer(TOKEN_A))
    assert mine.status_code == 202, mine.text
    mixed = batch(at(4, host_id="host-a", seq=2), at(4, host_id="host-b"))
    theirs = await gateway.post(mixed, headers=bearer(TOKEN_A))
    assert theirs.status_code == 403, theirs.text
    assert detail(theirs).startswith("samples[1].host_id: 'host-b' is not 'host-a'")
    assert await gateway.count() == 1  # the mixed batch stored nothing


async def test_a_revoked_token_stops_working_without_a_restart(
    guarded: tuple[Gateway, Path],
) -> None:
    gateway, path = guarded
    assert (await gateway.post(batch(at(5, host_id="host-a")), headers=bearer(TOKEN_A))).is_success
    write_tokens(path, {})

    async def refused() -> bool:
        response = await gateway.post(
            batch(at(3, host_id="host-a", seq=9)), headers=bearer(TOKEN_A)
        )
        return response.status_code == 401

    await wait_until(refused, timeout=10, what="the revoked token refused")
