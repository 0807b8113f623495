"""`mirror-stage up` runs its bus with authorization on: strangers are refused, an agent
enrolled with `mirror-stage agent enroll` is confined to its host, and `revoke` cuts it off
without restarting anything."""

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import nats.aio.client
import nats.errors
import pytest
from test_launcher import admin, data_dir, mirror_stage_up  # noqa: F401 - the fixture

from mirror_schema import subjects
from waiting import wait_until

HOST = "enrolled-9"


async def mirror_stage(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `python -m mirror_stage ARGS` with the stack's environment; exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_strangers_are_refused_and_an_enrolled_agent_is_confined_then_revoked(
    data_dir: Path,  # noqa: F811 - the fixture imported above
) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        url = stack.env["MIRROR_STAGE_NATS_URL"]
        errors: list[str] = []

        async def record(exc: Exception) -> None:
            errors.append(str(exc).lower())

        stranger = nats.aio.client.Client()
        try:
            with pytest.raises((nats.errors.Error, OSError)):
                await stranger.connect(url, error_cb=record, allow_reconnect=False)
        finally:
            await stranger.close()
        assert any("authorization violation" in e for e in errors), errors

        code, out = await mirror_stage(
            stack.env, "agent", "enroll", HOST, "--data-dir", str(data_dir)
        )
        assert code == 0, out
        credentials = data_dir / "identities" / f"agent-{HOST}.nk"
        assert str(credentials) in out
        token = out.split('ingest_token = "')[1].split('"')[0]
        ingest = stack.env["MIRROR_STAGE_INGEST_PORT"]
        sample = {
            "hostname": HOST,
            "host_id": HOST,
            "timestamp": datetime.now(UTC).isoformat(),
            "cpu_load": 5.0,
            "memory_used_percent": 10.0,
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest}") as http:
            anonymous = await http.post("/api/metrics/batch", json={"samples": [sample]})
            assert anonymous.status_code == 401
            posted = await http.post(
                "/api/metrics/batch",
                json={"samples": [sample]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert posted.status_code == 202, posted.text
        assert credentials.stat().st_mode & 0o777 == 0o600
        errors.clear()
        agent = await nats.connect(
            url,
            nkeys_seed=str(credentials),
            inbox_prefix=f"_INBOX.{HOST}",
            error_cb=record,
            allow_reconnect=False,
        )
        js = agent.jetstream()
        ack = await js.publish(subjects.metrics_raw(HOST), b'{"hostname": "x"}')
        assert ack.seq > 0
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish(subjects.metrics_raw("someone-else"), b"{}", timeout=1)

        code, out = await mirror_stage(
            stack.env, "agent", "revoke", HOST, "--data-dir", str(data_dir)
        )
        assert code == 0, out
        await wait_until(
            lambda: agent.is_closed or not agent.is_connected,
            timeout=30,
            what="the revoked agent cut off",
        )
        assert not credentials.exists()
        await agent.close()
        # Everyone else carries on: the admin still reads the stream the agent wrote to.
        nc = await nats.connect(url, nkeys_seed=admin(data_dir))
        info = await nc.jetstream().stream_info("METRICS")
        await nc.close()
        assert info.state.messages >= 1
