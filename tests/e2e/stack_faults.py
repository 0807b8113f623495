"""Faults dealt to the parts of a running `mirror-stage up`: its servers killed, PostgreSQL
stopped and kept down, and what tells that the launcher brought a part back.

PostgreSQL kept down: the postmaster is asked for a fast shutdown (SIGINT, what
`pg_ctl stop -m fast` sends: every connection closed, a clean checkpoint), and meanwhile the
launcher is frozen (SIGSTOP) so that it does not start PostgreSQL again before the outage's
end. Only the launcher's own process stops: every service runs in a session of its own and
goes on meeting a database that refuses connections. Thawed, the launcher finds the
postmaster gone and restarts it as it restarts any part that died.
"""

import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator

import psutil
from stack_up import RunningStack

from waiting import wait_until

RESTART_LIMIT_SECONDS = 90.0


def _named(process: psutil.Process, *names: str) -> bool:
    try:
        return process.name() in names and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postgres_processes(stack: RunningStack) -> list[psutil.Process]:
    """The postmaster and every backend it forked."""
    return [p for p in stack.descendants() if _named(p, "postgres", "postmaster")]


def postmaster(stack: RunningStack) -> psutil.Process | None:
    """PostgreSQL's postmaster: the launcher's own child of that name."""
    launcher = stack.process.pid
    for process in postgres_processes(stack):
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.ppid() == launcher:
                return process
    return None


def nats_server(stack: RunningStack) -> psutil.Process | None:
    return next((p for p in stack.descendants() if _named(p, "nats-server")), None)


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def kill_postmaster(stack: RunningStack) -> int:
    """SIGKILL PostgreSQL's postmaster (its backends then end too); its pid."""
    victim = postmaster(stack)
    assert victim is not None, "no PostgreSQL postmaster under the launcher"
    victim.send_signal(signal.SIGKILL)
    return int(victim.pid)


def kill_nats_server(stack: RunningStack) -> int:
    victim = nats_server(stack)
    assert victim is not None, "no nats-server under the launcher"
    victim.send_signal(signal.SIGKILL)
    return int(victim.pid)


async def restarted(stack: RunningStack, find: str, before: int) -> None:
    """Until the launcher runs `find` ("postgres" or "nats") again under another pid and it
    accepts connections."""
    port = stack.postgres_port if find == "postgres" else _nats_port(stack)

    def back() -> bool:
        process = postmaster(stack) if find == "postgres" else nats_server(stack)
        return process is not None and process.pid != before and answers(port)

    await wait_until(back, timeout=RESTART_LIMIT_SECONDS, what=f"the launcher to restart {find}")


def _nats_port(stack: RunningStack) -> int:
    return int(stack.env["MIRROR_STAGE_NATS_URL"].rsplit(":", 1)[1])


@contextlib.asynccontextmanager
async def postgres_stopped(stack: RunningStack) -> AsyncIterator[int]:
    """PostgreSQL shut down (fast) and kept down for the block, the launcher frozen meanwhile
    (see the module's doc); yields the stopped postmaster's pid. After the block the launcher
    is thawed: the caller waits for `restarted(stack, "postgres", pid)`."""
    victim = postmaster(stack)
    assert victim is not None, "no PostgreSQL postmaster under the launcher"
    launcher = stack.process.pid
    os.kill(launcher, signal.SIGSTOP)
    try:
        victim.send_signal(signal.SIGINT)

        def down() -> bool:
            return not postgres_processes(stack) and not answers(stack.postgres_port)

        await wait_until(down, timeout=30, what="PostgreSQL's fast shutdown")
        yield int(victim.pid)
    finally:
        os.kill(launcher, signal.SIGCONT)


def replaced(before: dict[str, int], now: dict[str, int]) -> list[str]:
    """The services whose pid changed between two `service_pids` readings: those that died
    (and were started again) rather than reconnect by themselves."""
    return sorted(name for name, pid in before.items() if now.get(name) != pid)


def service_pids(stack: RunningStack, services: tuple[str, ...]) -> dict[str, int]:
    """The pid of each Python service of the stack, by its name (not a PostgreSQL backend,
    whose title names the service it serves)."""
    pids: dict[str, int] = {}
    for process in stack.descendants():
        try:
            if process.name() in ("postgres", "postmaster"):
                continue
            line = " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        for service in services:
            if f"mirror_{service}" in line:
                pids[service] = process.pid
    return pids
