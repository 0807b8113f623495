"""mirror_runtime.serve on its own: a minimal service run the way every service's __main__
runs one (serve.main), in a process of its own against a real nats-server and PostgreSQL. It
serves its app behind the security headers, stops on SIGTERM (its stop hook run, NATS
drained, exit 0), and turns each start-up failure into one message naming what is wrong, and
exit 1."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from loopback_ports import free_port
from waiting import wait_until

SERVICE = """
import os
import pathlib
import sys

from fastapi import FastAPI

from mirror_runtime import serve
from mirror_runtime.auth.settings import AuthSettings
from mirror_runtime.config import ServiceConfig
from mirror_runtime.logs import configure_logging

nats_url, port, db_url, stopped, timeout = sys.argv[1:6]


async def start(deps):
    app = FastAPI()

    @app.get("/api/probe")
    async def probe() -> dict[str, bool]:
        return {"nats": deps.nc.is_connected, "db": deps.pool is not None}

    async def stop() -> None:
        pathlib.Path(stopped).write_text("stopped")

    return serve.Started(app, stop)


configure_logging("json")
config = ServiceConfig(
    name="automation-probe",  # any identity the bus knows
    nats_url=nats_url,
    http_host=os.environ.get("PROBE_HTTP_HOST", "127.0.0.1"),
    http_port=int(port),
    db_url=db_url or None,
    nats_connect_timeout_seconds=float(timeout),
    auth=AuthSettings(enabled=False),
)
sys.exit(serve.main(config, start))
"""


async def run_probe(
    tmp_path: Path,
    nats_url: str,
    port: int,
    db_url: str = "",
    connect_seconds: float = 10,
    http_host: str = "127.0.0.1",
) -> asyncio.subprocess.Process:
    script = tmp_path / "probe_service.py"
    script.write_text(SERVICE)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        nats_url,
        str(port),
        db_url,
        str(tmp_path / "stopped"),
        str(connect_seconds),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PROBE_HTTP_HOST": http_host},
    )


async def ended(process: asyncio.subprocess.Process, seconds: float = 20) -> tuple[int, str]:
    """The process's exit code and everything it printed (it must end within `seconds`)."""
    async with asyncio.timeout(seconds):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_service_serves_until_sigterm_then_runs_its_stop_and_exits_0(
    tmp_path: Path, own_nats: str, database: str
) -> None:
    port = free_port()
    process = await run_probe(tmp_path, own_nats, port, database)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def serving() -> bool:
                try:
                    return (await http.get("/api/probe")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(serving, timeout=20, what="the probe service answering")
            answer = await http.get("/api/probe")
            assert answer.json() == {"nats": True, "db": True}
            assert answer.headers["x-frame-options"] == "DENY"
            assert "server" not in answer.headers  # uvicorn's banner is off
        process.send_signal(signal.SIGTERM)
        code, output = await ended(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, output
    assert (tmp_path / "stopped").read_text() == "stopped"
    assert "service.stopped" in output


async def answers(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2) as http:
        try:
            return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False


async def test_the_http_host_setting_decides_who_can_reach_the_port(
    tmp_path: Path, own_nats: str
) -> None:
    """Loopback by default: another address of this machine (127.0.0.2) is refused. With
    0.0.0.0, as in a container, it answers there too."""
    for host, from_elsewhere in (("127.0.0.1", False), ("0.0.0.0", True)):
        port = free_port()
        process = await run_probe(tmp_path, own_nats, port, http_host=host)
        try:
            await wait_until(
                lambda port=port: answers(f"http://127.0.0.1:{port}/api/probe"),
                timeout=20,
                what=f"the probe service on {host}",
            )
            assert await answers(f"http://127.0.0.2:{port}/api/probe") is from_elsewhere, host
        finally:
            process.send_signal(signal.SIGTERM)
            await ended(process)


async def test_no_nats_server_at_the_url_is_named_and_exits_1(tmp_path: Path) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    process = await run_probe(tmp_path, nowhere, free_port(), connect_seconds=1)
    code, output = await ended(process)
    assert code == 1, output
    assert f"no NATS server answered at {nowhere} within 1 s" in output
    assert not (tmp_path / "stopped").exists()


async def test_a_refused_database_login_is_named_and_exits_1(
    tmp_path: Path, own_nats: str, database: str
) -> None:
    user, rest = database.removeprefix("postgresql://").split("@", 1)
    wrong = f"postgresql://{user.split(':')[0]}:not-the-password@{rest}"
    process = await run_probe(tmp_path, own_nats, free_port(), wrong)
    code, output = await ended(process)
    assert code == 1, output
    assert "PostgreSQL refused MIRROR_STAGE_DB_URL's login" in output


async def test_a_port_already_taken_is_named_and_exits_1(tmp_path: Path, own_nats: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await run_probe(tmp_path, own_nats, port)
        code, output = await ended(process)
    assert code == 1, output
    assert f"automation-probe could not serve HTTP on port {port}" in output
    assert (tmp_path / "stopped").read_text() == "stopped"  # what it started, it stopped
