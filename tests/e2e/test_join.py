"""Agents joining `mirror-stage up` with join tokens: the real agent joins and streams as its
own confined identity; a token admits only as many hosts as it says, and only until it
expires or is revoked; a join cannot take over an enrolled host; a token's holders can do
nothing on the bus but ask to join; joins can wait for an administrator; each is audited."""

import asyncio
import hashlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import nats
import nats.aio.client
import nats.errors
import nats.js.errors
import nkeys
import pytest
from stack_up import RunningStack, last_sample, mirror_stage_up

from mirror_agent.join import JoinError, join
from mirror_schema import identities, subjects
from mirror_schema.joins import JoinReply, JoinRequest, parse_join_token
from stack_cli import mirror_stage
from waiting import wait_until


async def join_token(stack: RunningStack, data_dir: Path, *flags: str) -> str:
    code, printed = await mirror_stage(
        stack.env, "agent", "join-token", "create", *flags, "--data-dir", str(data_dir)
    )
    assert code == 0, printed
    return next(line for line in printed.splitlines() if line.startswith("MSJ1."))


def fresh_key() -> str:
    """A new NKey user's public key."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


async def ask(stack: RunningStack, token: str, host: str, key: str | None = None) -> JoinReply:
    """A join request for `host` (with `key`, else a fresh one), as a token holder sends it."""
    token_id, seed = parse_join_token(token)
    request = JoinRequest(
        host_id=host,
        public_key=key or fresh_key(),
        ingest_token_sha256=hashlib.sha256(os.urandom(16)).hexdigest(),
    )
    nc = await nats.connect(
        stack.env["MIRROR_STAGE_NATS_URL"],
        nkeys_seed_str=seed,
        inbox_prefix=identities.inbox_prefix(identities.join_identity(token_id)),
        allow_reconnect=False,
    )
    try:
        answer = await nc.request(
            subjects.agents_join(token_id), msgspec.json.encode(request), timeout=30
        )
    finally:
        await nc.close()
    return msgspec.json.decode(answer.data, type=JoinReply)


async def holders_refused(stack: RunningStack, token: str) -> bool:
    """Whether nats-server refuses the connection of `token`'s holders."""
    _, seed = parse_join_token(token)
    holder = nats.aio.client.Client()
    try:
        await holder.connect(
            stack.env["MIRROR_STAGE_NATS_URL"],
            nkeys_seed_str=seed,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=ignore,
        )
    except (nats.errors.Error, OSError):
        return True
    finally:
        await holder.close()
    return False


async def ignore(_exc: Exception) -> None:
    """nats-py logs each refusal with a traceback; the caller checks the outcome."""


async def start_agent(
    tmp_path: Path, stack: RunningStack, host: str, token: str
) -> tuple[asyncio.subprocess.Process, Path]:
    """The real agent, started with `--join TOKEN`; its identity directory."""
    identity_dir = tmp_path / f"{host}-identity"
    config = tmp_path / f"{host}.toml"
    config.write_text(
        f'nats_url = "{stack.env["MIRROR_STAGE_NATS_URL"]}"\nhost_id = "{host}"\n'
        f'identity_dir = "{identity_dir}"\ninterval_seconds = 1\n'
    )
    with (tmp_path / f"{host}.log").open("wb") as log:  # the child keeps its own copy
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mirror_agent",
            "--config",
            str(config),
            "--join",
            token,
            stdout=log,
            stderr=log,
        )
    return process, identity_dir


async def stopped(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        async with asyncio.timeout(20):
            await process.wait()


async def test_an_agent_joins_and_streams_as_its_own_confined_identity(
    data_dir: Path, tmp_path: Path
) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        token = await join_token(stack, data_dir, "--uses", "2", "--tags", "env=lab")
        agent, identity_dir = await start_agent(tmp_path, stack, "join-a", token)
        try:
            await wait_until(
                lambda: last_sample(stack, data_dir, "join-a"),
                timeout=60,
                what="the joined agent's first sample",
            )
            sample = await last_sample(stack, data_dir, "join-a")
            assert sample is not None
            assert isinstance(sample["tags"], dict)
            assert sample["tags"]["env"] == "lab"  # the token's tags
        finally:
            await stopped(agent)
        secrets = {
            name: (identity_dir / name).stat().st_mode & 0o777
            for name in ("identity.nk", "ingest-token")
        }
        assert secrets == {"identity.nk": 0o600, "ingest-token": 0o600}

        # Its own identity is confined to its host like an enrolled agent's.
        nc = await nats.connect(
            stack.env["MIRROR_STAGE_NATS_URL"],
            nkeys_seed=str(identity_dir / "identity.nk"),
            inbox_prefix=identities.inbox_prefix(identities.agent_identity("join-a")),
            allow_reconnect=False,
        )
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream().publish(subjects.metrics_raw("someone-else"), b"{}", timeout=1)
        finally:
            await nc.close()
        # The ingest token it made itself posts for its host, and for no other.
        ingest_token = (identity_dir / "ingest-token").read_text().strip()
        async with httpx.AsyncClient(timeout=10) as http:
            for host, expected in (("join-a", 202), ("join-b", 403)):
                fresh = {"host_id": host, "hostname": host, "cpu_load": 1.0}
                fresh["timestamp"] = datetime.now(UTC).isoformat()
                posted = await http.post(
                    f"http://127.0.0.1:{stack.port('ingest')}/api/metrics/batch",
                    json={"samples": [fresh]},
                    headers={"Authorization": f"Bearer {ingest_token}"},
                )
                assert posted.status_code == expected, posted.text

        # Another key cannot take the enrolled host over, and that costs the token no use;
        # nor a host enrolled on the command line whose seed was moved to its host.
        takeover = await ask(stack, token, "join-a")
        assert takeover.status == "refused"
        assert "enrolled already" in takeover.detail
        code, printed = await mirror_stage(
            stack.env, "agent", "enroll", "moved-1", "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        (data_dir / "identities" / "agent-moved-1.nk").unlink()
        moved = await ask(stack, token, "moved-1")
        assert moved.status == "refused"
        assert "enrolled already" in moved.detail
        assert (await ask(stack, token, "join-b")).status == "accepted"
        # Used up: once the enroller has told nats-server (after its answer), the token's
        # holders cannot even connect.
        await wait_until(
            lambda: holders_refused(stack, token), timeout=30, what="the used-up token's user gone"
        )
        with pytest.raises(JoinError, match="refused the join token itself"):
            await join(
                token, "join-c", tmp_path / "c", stack.env["MIRROR_STAGE_NATS_URL"], wait_seconds=60
            )

        revoked = await join_token(stack, data_dir)
        code, printed = await mirror_stage(
            stack.env,
            "agent",
            "join-token",
            "revoke",
            parse_join_token(revoked)[0],
            "--data-dir",
            str(data_dir),
        )
        assert code == 0, printed
        with pytest.raises(JoinError, match="refused the join token itself"):
            await join(
                revoked,
                "join-d",
                tmp_path / "d",
                stack.env["MIRROR_STAGE_NATS_URL"],
                wait_seconds=60,
            )

        expiring = await join_token(stack, data_dir, "--expires", "1s")

        async def expired() -> bool:
            _, listed = await mirror_stage(
                stack.env, "agent", "join-token", "list", "--data-dir", str(data_dir)
            )
            return f"join token {parse_join_token(expiring)[0]} expired at" in listed

        await wait_until(expired, timeout=30, what="the one-second token expired")
        late = await ask(stack, expiring, "join-e")  # its user is still there until a reload
        assert late.status == "refused"
        assert "expired" in late.detail

        code, audit = await mirror_stage(
            stack.env, "agent", "join-audit", "--data-dir", str(data_dir)
        )
        assert code == 0, audit
        outcomes = [line.split()[1:3] for line in audit.splitlines() if line[:1].isdigit()]
        assert outcomes == [
            ["enroll", "join-a"],
            ["refused", "join-a"],
            ["refused", "moved-1"],
            ["enroll", "join-b"],
            ["refused", "join-e"],
        ]


async def test_a_token_holder_can_do_nothing_but_ask_to_join(data_dir: Path) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        token = await join_token(stack, data_dir)
        other = await join_token(stack, data_dir)
        token_id, seed = parse_join_token(token)
        errors: list[str] = []

        async def record(exc: Exception) -> None:
            errors.append(str(exc).lower())

        nc = await nats.connect(
            stack.env["MIRROR_STAGE_NATS_URL"],
            nkeys_seed_str=seed,
            inbox_prefix=identities.inbox_prefix(identities.join_identity(token_id)),
            error_cb=record,
            allow_reconnect=False,
        )
        try:
            await nc.publish(subjects.metrics_raw("victim"), b'{"hostname": "victim"}')
            await nc.publish(subjects.agents_join(parse_join_token(other)[0]), b"{}")
            await nc.publish("$JS.API.STREAM.DELETE.METRICS", b"")
            await nc.subscribe(">")
            await nc.subscribe(
                f"{identities.inbox_prefix(identities.join_identity(parse_join_token(other)[0]))}.>"
            )
            await nc.flush()
            await wait_until(lambda: len(errors) >= 5, timeout=10, what="five refusals")
        finally:
            await nc.close()
        assert all("permissions violation" in error for error in errors), errors
        assert await last_sample(stack, data_dir, "victim") is None


async def test_a_join_waits_for_an_administrator_when_its_token_asks(
    data_dir: Path, tmp_path: Path
) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        # Its last use: approving it must not strand the waiting agent without its answer.
        token = await join_token(stack, data_dir, "--uses", "1", "--approval")
        agent, _ = await start_agent(tmp_path, stack, "wait-a", token)
        try:

            async def listed() -> bool:
                _, pending = await mirror_stage(
                    stack.env, "agent", "pending", "--data-dir", str(data_dir)
                )
                return "wait-a  pending" in pending

            await wait_until(listed, timeout=30, what="the join listed as pending")
            assert await last_sample(stack, data_dir, "wait-a") is None
            code, printed = await mirror_stage(
                stack.env, "agent", "approve", "wait-a", "--data-dir", str(data_dir)
            )
            assert code == 0, printed
            await wait_until(
                lambda: last_sample(stack, data_dir, "wait-a"),
                timeout=90,
                what="the approved agent's first sample",
            )
        finally:
            await stopped(agent)

        token = await join_token(stack, data_dir, "--uses", "5", "--approval")
        key = fresh_key()
        assert (await ask(stack, token, "wait-b", key)).status == "pending"
        code, printed = await mirror_stage(
            stack.env, "agent", "reject", "wait-b", "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        again = await ask(stack, token, "wait-b", key)
        assert again.status == "refused"
        assert again.detail == "the join of wait-b was rejected by an administrator"
        # The rejection refuses its own key alone: it cannot squat the host id for others.
        assert (await ask(stack, token, "wait-b")).status == "pending"

        # A revoked token's waiting joins are rejected, and cannot be approved.
        assert (await ask(stack, token, "wait-c")).status == "pending"
        code, printed = await mirror_stage(
            stack.env,
            "agent",
            "join-token",
            "revoke",
            parse_join_token(token)[0],
            "--data-dir",
            str(data_dir),
        )
        assert code == 0, printed
        code, printed = await mirror_stage(
            stack.env, "agent", "approve", "wait-c", "--data-dir", str(data_dir)
        )
        assert code == 1
        assert "no join of 'wait-c' waits for approval" in printed
