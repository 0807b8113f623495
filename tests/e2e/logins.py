"""Logging in to a running stack's HTTP API as a new user does the first time."""

import httpx


async def replace_one_time_password(
    http: httpx.AsyncClient, base: str, user: str, one_time: str
) -> httpx.Response:
    """Log `user` in at `base` with their one-time password, choose their own, and log in
    again with it: that login's answer."""
    login = await http.post(f"{base}/api/auth/login", json={"user": user, "password": one_time})
    assert login.status_code == 200, login.text
    assert login.json()["password_change_required"] is True
    own = f"{user}'s own long password"
    changed = await http.post(
        f"{base}/api/auth/password",
        json={"current": one_time, "new": own},
        headers={"X-CSRF-Token": login.json()["csrf"]},
    )
    assert changed.status_code == 204, changed.text
    login = await http.post(f"{base}/api/auth/login", json={"user": user, "password": own})
    assert login.status_code == 200, login.text
    assert "password_change_required" not in login.json()
    return login
