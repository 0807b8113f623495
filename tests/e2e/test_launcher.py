"""`mirror-stage up` as a user runs it: starts, answers, survives a killed service, stops clean."""

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import asyncpg
import nats
from stack_up import (
    SERVICES,
    admin,
    bus_violations,
    health,
    mirror_stage_up,
    service_process,
    stack_environment,
    start_up,
)

from mirror_schema import streams
from mirror_stage.postgres import postgres_account, postgres_root
from waiting import wait_until


async def test_up_runs_every_part_restarts_a_killed_one_and_stops_clean(data_dir: Path) -> None:
    """Every part answers, a service killed with SIGKILL comes back, and SIGTERM leaves nothing."""
    ancestors = [data_dir.parent, *data_dir.parent.parents]
    modes_before = {path: path.stat().st_mode for path in ancestors}
    async with mirror_stage_up(data_dir, "--simulate", "2") as stack:
        printed = "\n".join(stack.lines)
        for name in ("nats", "postgres", *SERVICES, "agent", "simulator"):
            assert re.search(rf"^  {name}\s+\S", printed, re.MULTILINE), printed
        assert re.search(r"all healthy in \d+\.\d s", printed), printed
        assert stack.lines[-1] == f"HUD: http://127.0.0.1:{stack.port('twin')}/"
        for service in SERVICES:
            assert await health(stack.port(service)) == 200, service

        twin = service_process(stack, "twin")
        twin.kill()

        async def twin_is_back() -> bool:
            try:
                replaced = service_process(stack, "twin").pid != twin.pid
            except AssertionError:
                return False
            return replaced and await health(stack.port("twin")) == 200

        await wait_until(twin_is_back, timeout=30, what="the killed twin to be restarted")
        everything = stack.descendants()
        assert len(everything) >= 8  # nats, postgres (+ its workers), 4 services, agent, simulator
        assert bus_violations(data_dir) == []

    assert stack.process.returncode == 0, stack.lines
    assert "stopped" in stack.lines

    def all_gone() -> bool:
        return not any(process.is_running() for process in everything)

    await wait_until(all_gone, timeout=15, what="every process of the stack to exit")
    # The launcher never changes the permissions of a directory it did not create.
    assert {path: path.stat().st_mode for path in ancestors} == modes_before


def simulator_provisioned(data_dir: Path) -> bool:
    """Whether the simulator's identity is among the server's users (and its seed exists)."""
    seed = data_dir / "identities" / "simulator.nk"
    users = (data_dir / "nats-users.conf").read_text()
    return seed.exists() and "_SIMULATOR" in users


def private_logs(data_dir: Path) -> dict[str, int]:
    """Each log file the launcher wrote, with its mode."""
    return {p.name: p.stat().st_mode & 0o777 for p in (data_dir / "logs").glob("*.log")}


async def test_a_second_up_keeps_streams_and_rows(data_dir: Path) -> None:
    """Streams and database rows written under one data dir are there after a restart
    (the first run stopped with SIGINT, as Ctrl-C does). The simulator's identity exists while
    a simulator runs, and is gone at the next start without one; every log is 0600."""
    async with mirror_stage_up(
        data_dir, "--no-agent", "--simulate", "1", stop_signal=signal.SIGINT
    ) as stack:
        assert simulator_provisioned(data_dir)
        nc = await nats.connect(stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(data_dir))
        js = nc.jetstream()
        stored = (await js.stream_info(streams.METRICS.name)).state.messages
        await nc.close()
        password = (postgres_root(data_dir, postgres_account()) / "password").read_text().strip()
        dsn = f"postgresql://postgres:{password}@127.0.0.1:{stack.postgres_port}/mirror_stage"
        connection = await asyncpg.connect(dsn)
        await connection.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('x')")
        await connection.close()
    assert stored >= 1
    assert stack.process.returncode == 0, stack.lines
    assert stack.lines[-1] == "stopped"

    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        assert not simulator_provisioned(data_dir)
        assert not (data_dir / "identities" / "simulator.nk").exists()
        nc = await nats.connect(stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(data_dir))
        again = (await nc.jetstream().stream_info(streams.METRICS.name)).state.messages
        await nc.close()
        dsn = f"postgresql://postgres:{password}@127.0.0.1:{stack.postgres_port}/mirror_stage"
        connection = await asyncpg.connect(dsn)
        assert await connection.fetchval("SELECT note FROM kept") == "x"
        await connection.close()
    assert again >= stored
    logs = private_logs(data_dir)
    assert {"nats.log", "postgres.log", "twin.log", "simulator.log"} <= set(logs), logs
    assert set(logs.values()) == {0o600}, logs

    # Deleting the stack deletes its database, wherever PostgreSQL kept it.
    cluster = postgres_root(data_dir, postgres_account())
    purge = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        "purge",
        str(data_dir),
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, purge_errors = await purge.communicate()
    assert purge.returncode == 0, purge_errors
    assert not await asyncio.to_thread(data_dir.exists)
    assert not await asyncio.to_thread(cluster.exists)


async def run_up(data_dir: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `mirror-stage up` expecting it to refuse to start; return its code and stderr."""
    process = await start_up(
        data_dir, env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    """With a port already in use, up exits 1 naming the port and the variable that chose it."""
    env = stack_environment()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env["MIRROR_STAGE_TWIN_PORT"] = str(port)
        code, stderr = await run_up(tmp_path / "stage", env)
    assert code == 1
    assert f"{port} (twin, from MIRROR_STAGE_TWIN_PORT)" in stderr
    assert not (tmp_path / "stage" / "nats").exists()


async def test_a_misspelt_variable_stops_up_with_code_2(tmp_path: Path) -> None:
    """An unknown MIRROR_STAGE_* variable is named, and up exits 2 before starting anything."""
    env = stack_environment() | {"MIRROR_STAGE_TWINPORT": "9000"}
    code, stderr = await run_up(tmp_path / "stage", env)
    assert code == 2
    assert "MIRROR_STAGE_TWINPORT" in stderr
    assert not (tmp_path / "stage").exists()
