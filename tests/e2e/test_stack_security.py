"""`mirror-stage up` runs its bus with authorization on: strangers are refused, an agent
enrolled with `mirror-stage agent enroll` is confined to its host, and `revoke` cuts it off
without restarting anything."""

import asyncio
import json
import re
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import nats.aio.client
import nats.errors
import pytest
import trustme
from logins import replace_one_time_password
from stack_up import (
    admin,
    bus_violations,
    mirror_stage_up,
)

from mirror_schema import hosts, subjects
from servers import stranger_refusal
from stack_cli import mirror_stage
from waiting import wait_until

HOST = "enrolled-9"


async def test_strangers_are_refused_and_an_enrolled_agent_is_confined_then_revoked(
    data_dir: Path,
) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        url = stack.env["MIRROR_STAGE_NATS_URL"]
        errors = await stranger_refusal(url)
        assert any("authorization violation" in e for e in errors), errors

        async def record(exc: Exception) -> None:
            errors.append(str(exc).lower())

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


async def test_up_makes_a_first_admin_who_runs_a_command_and_a_viewer_may_not(
    data_dir: Path,
) -> None:
    async with mirror_stage_up(data_dir) as stack:
        printed = "\n".join(stack.lines)
        found = re.search(r"first admin: user 'admin', one-time password (\S+)", printed)
        assert found is not None, printed
        commands = f"http://127.0.0.1:{stack.port('commands')}"
        twin = f"http://127.0.0.1:{stack.port('twin')}"
        local_host = hosts.host_id_from_hostname(socket.gethostname())
        async with httpx.AsyncClient(base_url=commands, timeout=20) as http:
            anonymous = await http.post(
                "/api/commands", json={"hostname": local_host, "command": "uptime"}
            )
            assert anonymous.status_code == 401
            login = await http.post(
                "/api/auth/login", json={"user": "admin", "password": found.group(1)}
            )
            assert login.status_code == 200, login.text
            # The printed password is one-time: nothing but changing it, then log in again.
            assert login.json()["password_change_required"] is True
            early = await http.post(
                "/api/commands",
                json={"hostname": local_host, "command": "uptime"},
                headers={"X-CSRF-Token": login.json()["csrf"]},
            )
            assert early.status_code == 403
            assert "password change is required" in early.json()["detail"]
            login = await replace_one_time_password(http, "", "admin", found.group(1))
            sent = await http.post(
                "/api/commands",
                json={"hostname": local_host, "command": "uptime"},
                headers={"X-CSRF-Token": login.json()["csrf"]},
            )
            assert sent.status_code == 201, sent.text
            command = sent.json()["commands"][0]
            assert command["requested_by"] == "admin"

            async def succeeded() -> bool:
                answer = await http.get(f"/api/commands/{command['id']}")
                return answer.json()["status"] == "succeeded"

            await wait_until(succeeded, timeout=30, what="uptime to run on the local agent")

        code, out = await mirror_stage(
            stack.env, "user", "add", "vera", "--role", "viewer", "--data-dir", str(data_dir)
        )
        assert code == 0, out
        vera = re.search(r"one-time password \(shown once\): (\S+)", out)
        assert vera is not None, out
        async with httpx.AsyncClient(timeout=20) as http:
            login = await http.post(
                f"{twin}/api/auth/login", json={"user": "vera", "password": vera.group(1)}
            )  # logged in through the twin, which asks over the bus
            assert login.status_code == 200, login.text
            login = await replace_one_time_password(http, twin, "vera", vera.group(1))
            refused = await http.post(
                f"{commands}/api/commands",
                json={"hostname": local_host, "command": "uptime"},
                headers={"X-CSRF-Token": login.json()["csrf"]},
            )
            assert refused.status_code == 403
            assert (await http.get(f"{commands}/api/commands")).status_code == 200
        code, out = await mirror_stage(
            stack.env, "token", "add", "ci", "--role", "operator", "--data-dir", str(data_dir)
        )
        assert code == 0, out
        token = out.strip().splitlines()[-1]
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as script:
            assert (await script.get(f"{commands}/api/commands")).status_code == 200
        # Every service did all of the above within its own narrowed permissions.
        assert bus_violations(data_dir) == []

    async with mirror_stage_up(data_dir, "--no-agent") as again:
        assert any(line.startswith("logins: 2 user(s)") for line in again.lines), again.lines


async def test_with_certificates_the_stack_speaks_tls_on_http_and_nats(
    data_dir: Path,
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    tls = {
        "MIRROR_STAGE_TLS_CERT_FILE": str(cert),
        "MIRROR_STAGE_TLS_KEY_FILE": str(key),
        "MIRROR_STAGE_TLS_CA_FILE": str(ca_file),
    }
    # Healthy means every service and the local agent reached NATS over TLS.
    async with mirror_stage_up(data_dir, extra_env=tls) as stack:
        assert stack.lines[-1] == f"HUD: https://127.0.0.1:{stack.port('twin')}/"
        trusting = ssl.create_default_context(cafile=str(ca_file))
        async with httpx.AsyncClient(verify=trusting) as http:
            for service in ("twin", "ingest", "alerts", "commands"):
                answer = await http.get(f"https://127.0.0.1:{stack.port(service)}/api/health")
                assert answer.status_code == 200, service
        url = stack.env["MIRROR_STAGE_NATS_URL"]
        over_tls = await nats.connect(url, nkeys_seed=admin(data_dir), tls=trusting)
        assert over_tls.connected_url is not None
        await over_tls.close()
        # The server's greeting, before any handshake: it requires TLS of every client.
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        greeting = json.loads((await reader.readline()).decode().removeprefix("INFO "))
        writer.close()
        assert greeting["tls_required"] is True
        assert (data_dir / "agent.toml").read_text().count(f'tls_ca_file = "{ca_file}"') == 1
