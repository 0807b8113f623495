"""`mirror-stage up` runs every service on its own PostgreSQL role (issue 17, item 3): the
happy paths work within them (a sample reaches the history, a command runs, an alert rule is
made, a login works), and the ingest's role, taken from the stack's own files, may not read
the signing key nor queue a command."""

import os
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from stack_up import (
    mirror_stage_up,
    service_process,
)

from mirror_schema import hosts
from mirror_stage.operators import database_url_path
from mirror_stage.stack_layout import stack_layout
from stack_cli import mirror_stage
from waiting import wait_until

ROLES = {"ingest": "mirror_ingest", "alerts": "mirror_alerts", "commands": "mirror_commands"}


async def test_each_service_runs_on_its_own_role_and_the_happy_paths_still_work(
    data_dir: Path,
) -> None:
    async with mirror_stage_up(data_dir) as stack:
        printed = "\n".join(stack.lines)
        found = re.search(r"first admin: user 'admin', one-time password (\S+)", printed)
        assert found is not None, printed
        owner_url = database_url_path(stack_layout({}, data_dir=data_dir)).read_text().strip()
        assert urlsplit(owner_url).username == "mirror_owner"
        assert urlsplit(owner_url).password is None  # in its 0600 pgpass file

        # Each service process was given its own role's address, the agent and twin none.
        service_urls = {}
        for service, role in ROLES.items():
            url = service_process(stack, service).environ()["MIRROR_STAGE_DB_URL"]
            assert urlsplit(url).username == role, service
            passfile = parse_qs(urlsplit(url).query)["passfile"][0]
            assert os.stat(passfile).st_mode & 0o777 == 0o600
            service_urls[service] = url
        assert "MIRROR_STAGE_DB_URL" not in service_process(stack, "twin").environ()
        agent = next(p for p in stack.descendants() if "mirror_agent" in " ".join(p.cmdline()))
        assert "MIRROR_STAGE_DB_URL" not in agent.environ()

        local_host = hosts.host_id_from_hostname(socket.gethostname())
        base = "http://127.0.0.1"
        async with httpx.AsyncClient(timeout=20) as http:
            twin = f"{base}:{stack.port('twin')}"
            # Through the twin, answered over the bus by a service on its own role: a login,
            # the one-time password replaced (its sessions end), a login with the new one.
            login = await http.post(
                f"{twin}/api/auth/login", json={"user": "admin", "password": found.group(1)}
            )
            assert login.status_code == 200, login.text
            changed = await http.post(
                f"{twin}/api/auth/password",
                json={"current": found.group(1), "new": "a new password of the admin"},
                headers={"X-CSRF-Token": login.json()["csrf"]},
            )
            assert changed.status_code in (200, 204), changed.text
            login = await http.post(
                f"{twin}/api/auth/login",
                json={"user": "admin", "password": "a new password of the admin"},
            )
            assert login.status_code == 200, login.text
            csrf = {"X-CSRF-Token": login.json()["csrf"]}

            async def in_history() -> bool:
                since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
                answer = await http.get(
                    f"{base}:{stack.port('ingest')}/api/metrics/history",
                    params={"host": local_host, "since": since},
                )
                return answer.status_code == 200 and len(answer.json()["points"]) > 0

            await wait_until(in_history, timeout=60, what="the agent's samples in the history")

            rule = {
                "kind": "threshold",
                "id": "roles-cpu",
                "name": "CPU above 99 %",
                "metric": "cpu_load",
                "operator": ">",
                "threshold": 99.0,
                "clear_threshold": 90.0,
                "for_seconds": 60.0,
                "severity": "warning",
            }
            made = await http.post(
                f"{base}:{stack.port('alerts')}/api/alerts/rules", json=rule, headers=csrf
            )
            assert made.status_code == 201, made.text

            commands = f"{base}:{stack.port('commands')}"
            sent = await http.post(
                f"{commands}/api/commands",
                json={"hostname": local_host, "command": "uptime"},
                headers=csrf,
            )
            assert sent.status_code == 201, sent.text
            command_id = sent.json()["commands"][0]["id"]

            async def succeeded() -> bool:
                answer = await http.get(f"{commands}/api/commands/{command_id}")
                return answer.json()["status"] == "succeeded"

            await wait_until(succeeded, timeout=60, what="uptime to run on the local agent")

        # The operators' command works on the owner's address the launcher left.
        code, out = await mirror_stage(
            stack.env, "user", "add", "vera", "--role", "viewer", "--data-dir", str(data_dir)
        )
        assert code == 0, out

        # Who is connected: the three services' roles, and no superuser left by the launcher.
        owner = await asyncpg.connect(owner_url)
        try:
            users = {
                row["usename"]
                for row in await owner.fetch(
                    "SELECT DISTINCT usename FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            }
        finally:
            await owner.close()
        assert users == set(ROLES.values()), users

        # The stack's own ingest role, as a compromised ingest would hold it.
        ingest = await asyncpg.connect(service_urls["ingest"])
        try:
            assert await ingest.fetchval("SELECT count(*) FROM hosts") >= 1
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingest.fetchval("SELECT seed FROM signing_key")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingest.execute(
                    "INSERT INTO commands (id, host_id, hostname, command, status, priority, "
                    "timeout_seconds, created_at, expires_at, requested_by) VALUES ('x', $1, $1, "
                    "'id', 'pending', 5, 10, now(), now() + interval '1 h', 'x')",
                    local_host,
                )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingest.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        finally:
            await ingest.close()
