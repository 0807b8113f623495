"""The HTTP and WebSocket boundaries, probed as an attacker would on real services with logins
on: each probe tries to get through and must be refused; the right way in still works."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import websockets
import websockets.exceptions
from auth_http_helpers import LOCKOUT_FAILURES, Guarded, command_body, guest, running_guarded

from mirror_runtime.auth import admin
from stack_cli import counter
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

PASSWORD_CHECKS = "mirror_auth_password_checks_total"
LOGIN_CAP = 64 * 2**10


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def socket_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/ws/twin"


async def closed_within(socket: websockets.ClientConnection, seconds: float) -> float:
    """Read `socket` until the twin closes it; how long that took (fails past `seconds`)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            async for _ in socket:
                pass
    except websockets.exceptions.ConnectionClosed:
        pass  # closed with an error code (1008), as it should be
    except TimeoutError:
        raise AssertionError(f"the socket was still open {seconds} s later") from None
    return time.monotonic() - started


async def test_a_burst_of_wrong_logins_checks_no_more_passwords_than_the_lock_allows(
    guarded: Guarded,
) -> None:
    before = await counter(guarded.commands, PASSWORD_CHECKS)
    async with guarded.client() as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    "/api/auth/login",
                    json={"user": guarded.name("otto"), "password": f"guess {n}"},
                )
                for n in range(50)
            )
        )
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {401, 429}, statuses
        # A 401 is a password that was checked; every other attempt was refused before.
        assert statuses.count(401) <= LOCKOUT_FAILURES, statuses
        checked = await counter(guarded.commands, PASSWORD_CHECKS) - before
        assert 1 <= checked <= LOCKOUT_FAILURES
        right = await http.post(
            "/api/auth/login",
            json={"user": guarded.name("otto"), "password": guarded.passwords["otto"]},
        )
        assert right.status_code == 429, right.text
        assert "locked" in right.json()["detail"]
        assert await counter(guarded.commands, PASSWORD_CHECKS) - before == checked


async def test_a_locked_user_and_an_unknown_one_answer_alike(guarded: Guarded) -> None:
    async with guarded.client() as http:
        known_user, unknown_user = guarded.name("otto"), guarded.own("nobody")
        answers: dict[str, list[httpx.Response]] = {}
        for user in (known_user, unknown_user):
            answers[user] = [
                await http.post("/api/auth/login", json={"user": user, "password": "guess"})
                for _ in range(LOCKOUT_FAILURES + 1)
            ]
        for known, unknown in zip(answers[known_user], answers[unknown_user], strict=True):
            assert known.status_code == unknown.status_code
            assert known.content == unknown.content
        assert answers[known_user][-1].status_code == 429
        assert (
            abs(
                int(answers[known_user][-1].headers["retry-after"])
                - int(answers[unknown_user][-1].headers["retry-after"])
            )
            <= 2
        )

        async def timed(user: str) -> float:
            started = time.monotonic()
            answer = await http.post("/api/auth/login", json={"user": user, "password": "guess"})
            assert answer.status_code == 401
            return time.monotonic() - started

        # A wrong password and an unknown name cost the same hash: one is checked for each
        # (the dummy one for the unknown name), and they take about as long. The time is
        # compared loosely, alternating the two, since the machine's other work adds noise.
        dummy = f'{PASSWORD_CHECKS}{{known="false"}}'
        before = await counter(guarded.commands, dummy)
        known_times, unknown_times = [], []
        for n in range(3):
            known_times.append(await timed(guarded.name("vera")))
            unknown_times.append(await timed(guarded.own(f"nobody-{n}")))
        assert await counter(guarded.commands, dummy) - before == 3
        assert min(unknown_times) > min(known_times) / 4, (known_times, unknown_times)


@pytest_asyncio.fixture(loop_scope="module")
async def alone(tmp_path: Path, database: str) -> AsyncIterator[Guarded]:
    """Services of this test's own: a process's peak memory is its highest since it started,
    and the module's shared services have long since held a 128 MiB password hash."""
    async with running_guarded(tmp_path, database) as services:
        yield await guest(services)


async def test_a_64_mib_login_body_is_refused_early_and_memory_stays_flat(
    alone: Guarded,
) -> None:
    guarded = alone
    host, port = guarded.commands.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /api/auth/login HTTP/1.1\r\nHost: "
            + f"{host}:{port}".encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(64 * 2**20).encode()
            + b"\r\n\r\n"
            + b'{"user": "otto", "password": "'
        )
        await writer.drain()
        async with asyncio.timeout(5):  # without the rest of the 64 MiB
            status_line = await reader.readline()
            head = await reader.readuntil(b"\r\n\r\n")
        assert b" 413 " in status_line, status_line
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if b"content-length" in line.lower()
        )
        body = json.loads(await reader.readexactly(length))
        assert f"over the limit of {LOGIN_CAP} bytes" in body["detail"]
    finally:
        writer.close()

    pid = guarded.parts["commands"].pid
    assert pid is not None
    peak = peak_memory_kib(pid)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b" " * 2**20

    async with guarded.client() as http:
        try:
            answer = await http.post(
                "/api/auth/login",
                content=chunks(),
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code == 413, answer.text
        except httpx.HTTPError:
            pass  # the service hung up on the rest of the body
        assert sent < 16
        # Every other route is capped too, logged in or not.
        bearer = {"Authorization": f"Bearer {guarded.token}"}
        large = await http.post(
            "/api/commands", json=command_body(command="x" * 2**20), headers=bearer
        )
        assert large.status_code == 413, large.text
    assert peak_memory_kib(pid) - peak < 16 * 2**10


async def test_logout_through_the_twin_closes_the_sessions_socket_within_a_second(
    guarded: Guarded,
) -> None:
    async with guarded.client(guarded.twin) as http:
        csrf = await guarded.login(http, "vera")
        cookie = f"mirror_session={http.cookies['mirror_session']}"
        async with websockets.connect(
            socket_url(guarded.twin), additional_headers={"Cookie": cookie}
        ) as live:
            assert '"frame"' in str(await live.recv())
            answer = await http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
            assert answer.status_code == 204
            assert await closed_within(live, 1.0) < 1.0
            assert live.close_code == 1008
            assert "ended" in (live.close_reason or "")


async def test_changes_made_elsewhere_close_the_principals_sockets(guarded: Guarded) -> None:
    async with guarded.client() as commands_http, guarded.client(guarded.twin) as twin_http:
        await guarded.login(twin_http, "vera")
        vera = f"mirror_session={twin_http.cookies['mirror_session']}"
        await guarded.login(twin_http, "otto")
        otto = f"mirror_session={twin_http.cookies['mirror_session']}"
        bearer = {"Authorization": f"Bearer {guarded.token}"}
        url = socket_url(guarded.twin)
        async with (
            websockets.connect(url, additional_headers={"Cookie": vera}) as vera_socket,
            websockets.connect(url, additional_headers={"Cookie": otto}) as otto_socket,
            websockets.connect(url, additional_headers=bearer) as token_socket,
        ):
            for live in (vera_socket, otto_socket, token_socket):
                assert '"frame"' in str(await live.recv())
            # vera changes her password at the commands service: her sessions end.
            csrf = await guarded.login(commands_http, "vera")
            changed = await commands_http.post(
                "/api/auth/password",
                json={"current": guarded.passwords["vera"], "new": "another long password"},
                headers={"X-CSRF-Token": csrf},
            )
            assert changed.status_code == 204, changed.text
            await closed_within(vera_socket, 12)
            # An admin removes the token, then otto, on the command line.
            await admin.remove_token(guarded.pool, guarded.token_name)
            await closed_within(token_socket, 12)
            await admin.remove_user(guarded.pool, guarded.name("otto"))
            await closed_within(otto_socket, 12)
            for live in (vera_socket, otto_socket, token_socket):
                assert live.close_code == 1008


async def test_a_principal_may_hold_only_so_many_sockets(guarded: Guarded) -> None:
    bearer = {"Authorization": f"Bearer {guarded.token}"}
    url = socket_url(guarded.twin)
    opened: list[websockets.ClientConnection] = []
    try:
        for _ in range(16):
            live = await websockets.connect(url, additional_headers=bearer)
            opened.append(live)
            assert '"frame"' in str(await live.recv())
        async with websockets.connect(url, additional_headers=bearer) as refused:
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(refused.recv(), 5)
            assert refused.close_code == 1008
            assert "16 live sockets" in (refused.close_reason or "")
        await opened.pop().close()

        async def a_slot_is_free_again() -> bool:
            async with websockets.connect(url, additional_headers=bearer) as again:
                try:
                    return '"frame"' in str(await asyncio.wait_for(again.recv(), 5))
                except websockets.exceptions.ConnectionClosed:
                    return False  # refused: the server has not seen the close yet

        # The server frees the slot when its handler sees the close, a moment after ours.
        await wait_until(a_slot_is_free_again, timeout=10, what="the closed socket's slot")
    finally:
        for live in opened:
            await live.close()


async def test_the_login_route_takes_only_json_from_this_origin(guarded: Guarded) -> None:
    body = {"user": guarded.name("otto"), "password": guarded.passwords["otto"]}
    async with guarded.client() as http:
        elsewhere = await http.post(
            "/api/auth/login", json=body, headers={"Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403
        assert "origin" in elsewhere.json()["detail"]
        form = await http.post("/api/auth/login", data=body)
        assert form.status_code == 415
        assert "application/json" in form.json()["detail"]
        text = await http.post(
            "/api/auth/login", content=json.dumps(body), headers={"Content-Type": "text/plain"}
        )
        assert text.status_code == 415
        assert "mirror_session" not in http.cookies
        same_site = await http.post(
            "/api/auth/login", json=body, headers={"Origin": guarded.commands}
        )
        assert same_site.status_code == 200


async def test_docs_are_off_and_every_answer_carries_the_security_headers(
    guarded: Guarded,
) -> None:
    for base in (guarded.commands, guarded.twin):
        async with guarded.client(base) as http:
            for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
                answer = await http.get(path)
                assert answer.status_code == 404, (base, path)
            answers = [
                await http.get("/api/health"),
                await http.get("/api/auth/me"),  # 401
                await http.post("/api/auth/login", content=b"x", headers={"Content-Type": "x"}),
            ]
            if base == guarded.twin:
                answers.append(await http.get("/"))
            for answer in answers:
                assert answer.headers["x-frame-options"] == "DENY"
                assert answer.headers["x-content-type-options"] == "nosniff"
                policy = answer.headers["content-security-policy"]
                assert "default-src 'self'" in policy
                assert "frame-ancestors 'none'" in policy


async def test_a_one_time_password_allows_nothing_but_changing_it(guarded: Guarded) -> None:
    olga = guarded.own("olga")
    password = await admin.add_user(guarded.pool, olga, "operator")
    for base in (guarded.commands, guarded.twin):
        async with guarded.client(base) as http:
            login = await http.post("/api/auth/login", json={"user": olga, "password": password})
            assert login.status_code == 200, login.text
            assert login.json()["password_change_required"] is True
            csrf = login.json()["csrf"]
            me = await http.get("/api/auth/me")
            assert me.status_code == 200
            assert me.json()["password_change_required"] is True
            path = "/api/commands" if base == guarded.commands else "/api/twin/state"
            refused = await http.get(path)
            assert refused.status_code == 403
            assert "password change is required" in refused.json()["detail"]
            cookie = f"mirror_session={http.cookies['mirror_session']}"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            socket_url(guarded.twin), additional_headers={"Cookie": cookie}
        ):
            pass
    async with guarded.client(guarded.twin) as http:
        await http.post("/api/auth/login", json={"user": olga, "password": password})
        csrf = (await http.get("/api/auth/me")).json()["csrf"]
        changed = await http.post(
            "/api/auth/password",
            json={"current": password, "new": "olga's own long password"},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 204, changed.text
        login = await http.post(
            "/api/auth/login", json={"user": olga, "password": "olga's own long password"}
        )
        assert login.status_code == 200
        assert "password_change_required" not in login.json()
        assert (await http.get("/api/twin/state")).status_code == 200
    # An admin's new password for her is one-time again.
    again = await admin.reset_password(guarded.pool, olga)
    async with guarded.client() as http:
        await http.post("/api/auth/login", json={"user": olga, "password": again})
        assert (await http.get("/api/commands")).status_code == 403
