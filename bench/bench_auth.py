"""What logins cost: a password hash, checking a session or token, and an HTTP request.

    .venv/bin/python bench/bench_auth.py [--checks 2000] [--requests 1000]

Real PostgreSQL and nats-server (tests/servers.py). Prints:
- the time of one scrypt hash (a login's cost) and logins/s on one core;
- Accounts.authenticate() for a session and for an API token against PostgreSQL, in sequence;
- `GET /api/commands/hosts` on the commands service as deployed, with logins off and with an
  API token (the middleware's cost per request), p50 and p99 over --requests in sequence.
Asserts nothing.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mirror_runtime.auth import admin
from mirror_runtime.auth.accounts import Accounts
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.auth.passwords import hash_password, verify_password
from mirror_runtime.auth.settings import AuthSettings
from mirror_stage.ports import free_port
from mirror_stage.supervisor import Supervised
from servers import embedded_nats, embedded_postgres, service_spec


def hash_cost(rounds: int = 10) -> float:
    """Median seconds of one verify (what a login spends)."""
    stored = hash_password("a password for the bench")
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        verify_password("a password for the bench", stored)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def check_costs(pool: asyncpg.Pool, checks: int) -> tuple[float, float]:
    """Microseconds per authenticate() of a session, and of a token."""
    password = await admin.add_user(pool, "bench", "operator")
    token = await admin.add_token(pool, "bench", "operator")
    accounts = Accounts(pool, AuthSettings())
    session = await accounts.login("bench", password, None)
    results = []
    for credential in ({"session": session.secret}, {"token": token}):
        began = time.perf_counter()
        for _ in range(checks):
            await accounts.authenticate(**credential)
        results.append((time.perf_counter() - began) / checks * 1e6)
    return results[0], results[1]


async def request_latency(base: str, headers: dict[str, str], requests: int) -> list[float]:
    """Milliseconds of each GET /api/commands/hosts, in sequence, after a warm-up."""
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        for _ in range(50):
            (await http.get("/api/commands/hosts")).raise_for_status()
        times = []
        for _ in range(requests):
            began = time.perf_counter()
            (await http.get("/api/commands/hosts")).raise_for_status()
            times.append((time.perf_counter() - began) * 1e3)
    return sorted(times)


async def main(args: argparse.Namespace) -> None:
    seconds = hash_cost()
    print(f"scrypt verify: {seconds * 1e3:.0f} ms -> {1 / seconds:.1f} logins/s per core")
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        (base / "pg").mkdir()
        (base / "nats").mkdir()
        async with embedded_postgres(base / "pg") as pg, embedded_nats(base / "nats") as nats:
            pool = await asyncpg.create_pool(pg.dsn, min_size=1, max_size=4)
            await migrate_auth(pool)
            session_us, token_us = await check_costs(pool, args.checks)
            print(f"authenticate, session: {session_us:.0f} us; token: {token_us:.0f} us")
            token = await admin.add_token(pool, "http", "viewer")
            await pool.close()
            for label, env, headers in (
                ("logins off", {"MIRROR_STAGE_HTTP_AUTH": "off"}, {}),
                (
                    "API token ",
                    {"MIRROR_STAGE_HTTP_AUTH": "on"},
                    {"Authorization": f"Bearer {token}"},
                ),
            ):
                port = free_port()
                part = Supervised(
                    service_spec(
                        "commands",
                        log_path=base / f"commands-{port}.log",
                        nats_url=nats.url,
                        port=port,
                        db_url=pg.dsn,
                        env=env,
                    )
                )
                await part.start()
                try:
                    times = await request_latency(part.spec.address, headers, args.requests)
                finally:
                    await part.stop()
                p50 = times[len(times) // 2]
                p99 = times[int(len(times) * 0.99)]
                print(f"GET /api/commands/hosts, {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
