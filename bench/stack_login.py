"""The first admin's login to a stack `mirror-stage up` started, as the HUD makes them do it:
the one-time password the launcher printed, their own password chosen, then logged in again.
Not named bench_*.py: `make bench` runs every bench_*.py.
"""

from __future__ import annotations

import re

import httpx

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
