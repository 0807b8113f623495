"""The first admin's login to a stack `mirror-stage up` started, as the HUD makes them do it:
the one-time password the launcher printed, their own password chosen, then logged in again;
and a script's API token, as a user makes one. Not named bench_*.py: `make bench` runs every
bench_*.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from stack_up import RunningStack

from stack_cli import mirror_stage

OWN_PASSWORD = "the bench's own long password"


def one_time_password(printed: str) -> str:
    """The first admin's one-time password in the launcher's output."""
    found = re.search(r"one-time password (\S+)", printed)
    if found is None:
        raise RuntimeError(f"no one-time password in the launcher's output: {printed}")
    return found[1]


def checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response


async def log_in(http: httpx.AsyncClient, one_time: str) -> str:
    """The admin's session cookie (`mirror_session=...`), after choosing their own password;
    `http` keeps the session and its CSRF header for further changes."""
    login = checked(
        await http.post("/api/auth/login", json={"user": "admin", "password": one_time})
    )
    checked(
        await http.post(
            "/api/auth/password",
            json={"current": one_time, "new": OWN_PASSWORD},
            headers={"X-CSRF-Token": login.json()["csrf"]},
        )
    )
    again = checked(
        await http.post("/api/auth/login", json={"user": "admin", "password": OWN_PASSWORD})
    )
    http.headers["X-CSRF-Token"] = again.json()["csrf"]
    return f"mirror_session={http.cookies['mirror_session']}"


async def api_token(stack: RunningStack, data_dir: Path) -> str:
    """`mirror-stage token add bench --role operator`, as a user makes a script's token."""
    code, out = await mirror_stage(
        stack.env, "token", "add", "bench", "--role", "operator", "--data-dir", str(data_dir)
    )
    if code != 0:
        raise RuntimeError(f"mirror-stage token add failed: {out}")
    return out.strip().splitlines()[-1]
