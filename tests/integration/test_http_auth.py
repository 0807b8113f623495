"""HTTP with logins on: each test tries to get in without the right to, and must fail; the
right credentials still work, and the audit trail names who asked."""

import dataclasses
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
import websockets.exceptions
from alerts_helpers import FAST_ENV, cpu_rule, running_alerts
from auth_http_helpers import (
    AUTH_ON,
    LOCKOUT_FAILURES,
    Certificates,
    Guarded,
    command_body,
    settled_user,
)
from twin_helpers import own_nats_server

from loopback_ports import free_port
from mirror_runtime.auth import admin
from mirror_runtime.auth.migrations import migrate_auth
from mirror_stage.supervisor import Supervised
from servers import service_spec

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_without_credentials_reads_and_changes_are_401(guarded: Guarded) -> None:
    async with guarded.client() as http:
        for method, path in (
            ("POST", "/api/commands"),
            ("GET", "/api/commands"),
            ("GET", "/api/commands/hosts"),
            ("POST", "/api/commands/00000000000000000000000000/cancel"),
        ):
            answer = await http.request(method, path, json=command_body())
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert "log in" in answer.json()["detail"]
        forged = await http.post(
            "/api/commands",
            json=command_body(),
            headers={"Cookie": "mirror_session=made-up", "X-CSRF-Token": "made-up"},
        )
        assert forged.status_code == 401
        bad_scheme = await http.get("/api/commands", headers={"Authorization": "Basic eDp5"})
        assert bad_scheme.status_code == 401
        # CORS stays closed: no page of another origin is ever allowed to read an answer.
        preflight = await http.options(
            "/api/commands",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code in (401, 403)
        assert "access-control-allow-origin" not in preflight.headers
        health = await http.get("/api/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in health.headers
        # Open: health, metrics, the login door, and the public half of the signing key.
        assert (await http.get("/api/health")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/api/commands/signing-key")).status_code == 200


async def test_a_viewer_reads_but_may_not_send_a_command(guarded: Guarded) -> None:
    async with guarded.client() as http:
        csrf = await guarded.login(http, "vera")
        listed = await http.get("/api/commands")
        assert listed.status_code == 200
        before = listed.json()["total"]  # the module's other tests' commands
        answer = await http.post(
            "/api/commands", json=command_body(), headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 403
        assert answer.json()["detail"] == (
            f"{guarded.name('vera')} is a viewer: POST /api/commands needs the operator role"
        )
        listed = (await http.get("/api/commands")).json()
        assert listed["total"] == before


async def test_an_operator_sends_a_command_recorded_under_their_name(guarded: Guarded) -> None:
    async with guarded.client() as http:
        csrf = await guarded.login(http, "otto")
        me = (await http.get("/api/auth/me")).json()
        otto = guarded.name("otto")
        assert me["principal"] == {"name": otto, "role": "operator", "kind": "user"}
        assert me["csrf"] == csrf
        answer = await http.post(
            "/api/commands",
            json=command_body(requested_by="mallory"),  # a claim the session overrides
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 201, answer.text
        command = answer.json()["commands"][0]
        assert command["requested_by"] == otto


async def test_a_change_with_the_cookie_needs_the_csrf_token_and_this_origin(
    guarded: Guarded,
) -> None:
    async with guarded.client() as http:
        csrf = await guarded.login(http, "otto")
        missing = await http.post("/api/commands", json=command_body())
        assert missing.status_code == 403
        assert "X-CSRF-Token" in missing.json()["detail"]
        wrong = await http.post(
            "/api/commands", json=command_body(), headers={"X-CSRF-Token": "0" * 64}
        )
        assert wrong.status_code == 403
        elsewhere = await http.post(
            "/api/commands",
            json=command_body(),
            headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        )
        assert elsewhere.status_code == 403
        assert "origin" in elsewhere.json()["detail"]
        same_site = await http.post(
            "/api/commands",
            json=command_body(),
            headers={"X-CSRF-Token": csrf, "Origin": guarded.commands},
        )
        assert same_site.status_code == 201, same_site.text


async def test_the_session_cookie_is_httponly_and_samesite_strict(guarded: Guarded) -> None:
    async with guarded.client() as http:
        otto = guarded.name("otto")
        answer = await http.post(
            "/api/auth/login", json={"user": otto, "password": guarded.passwords["otto"]}
        )
        cookie = answer.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith("mirror_session=")
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower()
        assert "secure" not in attributes  # plain HTTP here; see the TLS test
        assert "session" not in answer.json()  # the secret travels only in the cookie


async def test_repeated_wrong_passwords_lock_the_user_out(guarded: Guarded) -> None:
    async with guarded.client() as http:
        otto = guarded.name("otto")
        for _ in range(LOCKOUT_FAILURES):
            wrong = await http.post("/api/auth/login", json={"user": otto, "password": "guess"})
            assert wrong.status_code == 401
            assert wrong.json()["detail"] == "wrong user name or password"
        locked = await http.post(
            "/api/auth/login", json={"user": otto, "password": guarded.passwords["otto"]}
        )
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert "locked" in locked.json()["detail"]
        assert "mirror_session" not in http.cookies
        await admin.unlock_user(guarded.pool, otto)
        await guarded.login(http, "otto")


async def test_a_bad_login_body_is_422_naming_the_field(guarded: Guarded) -> None:
    async with guarded.client() as http:
        answer = await http.post("/api/auth/login", json={"user": "otto"})
        assert answer.status_code == 422
        assert "password" in answer.json()["detail"]


async def test_an_api_token_works_without_csrf_until_removed(guarded: Guarded) -> None:
    async with guarded.client() as http:
        bearer = {"Authorization": f"Bearer {guarded.token}"}
        answer = await http.post("/api/commands", json=command_body(), headers=bearer)
        assert answer.status_code == 201, answer.text
        assert answer.json()["commands"][0]["requested_by"] == f"token:{guarded.token_name}"
        wrong = await http.get("/api/commands", headers={"Authorization": "Bearer mst_nope"})
        assert wrong.status_code == 401
        await admin.remove_token(guarded.pool, guarded.token_name)
        assert (await http.get("/api/commands", headers=bearer)).status_code == 401


async def test_logout_ends_the_session(guarded: Guarded) -> None:
    async with guarded.client() as http:
        csrf = await guarded.login(http, "vera")
        secret = http.cookies["mirror_session"]
        answer = await http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 204
        assert "mirror_session" not in http.cookies
        replayed = await http.get("/api/commands", headers={"Cookie": f"mirror_session={secret}"})
        assert replayed.status_code == 401


async def test_changing_ones_password_over_http(guarded: Guarded) -> None:
    async with guarded.client() as http:
        csrf = await guarded.login(http, "vera")
        headers = {"X-CSRF-Token": csrf}
        body = {"current": guarded.passwords["vera"], "new": "short"}
        weak = await http.post("/api/auth/password", json=body, headers=headers)
        assert weak.status_code == 422
        assert "at least 12" in weak.json()["detail"]
        body["new"] = "a much longer password"
        assert (
            await http.post("/api/auth/password", json=body, headers=headers)
        ).status_code == 204
        assert (await http.get("/api/commands")).status_code == 401  # every session ended
        guarded.passwords["vera"] = body["new"]
        await guarded.login(http, "vera")


async def test_the_twin_checks_logins_over_the_bus(guarded: Guarded) -> None:
    socket_url = guarded.twin.replace("http", "ws") + "/ws/twin"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(socket_url):
            pass
    assert refused.value.response.status_code == 403
    async with guarded.client(guarded.twin) as http:
        assert (await http.get("/api/twin/state")).status_code == 401
        csrf = await guarded.login(http, "vera")  # forwarded to auth.api.login
        assert (await http.get("/api/twin/state")).status_code == 200
        placement = await http.put(
            "/api/twin/hosts/web-1/placement",
            json={"layer": 3},
            headers={"X-CSRF-Token": csrf},
        )
        assert placement.status_code == 403  # a viewer may not move hosts
        cookie = f"mirror_session={http.cookies['mirror_session']}"
    async with websockets.connect(socket_url, additional_headers={"Cookie": cookie}) as socket:
        first = await socket.recv()
        assert '"frame"' in str(first)
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            socket_url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
        ):
            pass


async def test_with_certificates_the_service_speaks_https_and_cookies_are_secure(
    tmp_path: Path, database: str, certificates: Certificates
) -> None:
    env = {
        **AUTH_ON,
        "MIRROR_STAGE_TLS_CERT_FILE": str(certificates.cert_file),
        "MIRROR_STAGE_TLS_KEY_FILE": str(certificates.key_file),
    }
    pool = await asyncpg.create_pool(database, min_size=1, max_size=1)
    try:
        await migrate_auth(pool)
        password = await settled_user(pool, "otto", "operator")
    finally:
        await pool.close()
    port = free_port()
    base = f"https://127.0.0.1:{port}"

    async def healthy() -> bool:
        async with httpx.AsyncClient(verify=certificates.context) as probe:
            try:
                return (await probe.get(f"{base}/api/health")).status_code == 200
            except httpx.HTTPError:
                return False

    async with own_nats_server(tmp_path / "nats") as nats_url:
        spec = service_spec(
            "commands",
            log_path=tmp_path / "commands.log",
            nats_url=nats_url,
            port=port,
            db_url=database,
            env=env,
        )
        part = Supervised(dataclasses.replace(spec, probe=healthy, address=base))
        await part.start()
        try:
            async with httpx.AsyncClient(base_url=base, verify=certificates.context) as http:
                answer = await http.post(
                    "/api/auth/login", json={"user": "otto", "password": password}
                )
                assert answer.status_code == 200
                assert "secure" in answer.headers["set-cookie"].lower().split("; ")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as plain:
                with pytest.raises(httpx.HTTPError):
                    await plain.get("/api/health")
        finally:
            await part.stop()


async def test_alerts_record_who_silenced_and_refuse_a_viewers_rule(
    tmp_path: Path, database: str
) -> None:
    pool = await asyncpg.create_pool(database, min_size=1, max_size=1)
    try:
        await migrate_auth(pool)
        passwords = {
            "otto": await settled_user(pool, "otto", "operator"),
            "vera": await settled_user(pool, "vera", "viewer"),
        }
    finally:
        await pool.close()
    async with running_alerts(tmp_path, database, {**FAST_ENV, **AUTH_ON}) as stack:
        base = str(stack.http.base_url)
        assert (await stack.http.get("/api/alerts/active")).status_code == 401
        for user in ("otto", "vera"):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                login = await http.post(
                    "/api/auth/login", json={"user": user, "password": passwords[user]}
                )
                headers = {"X-CSRF-Token": login.json()["csrf"]}
                silence = await http.post(
                    "/api/alerts/silences",
                    json={"matchers": {"host_ids": ["web-1"]}, "duration_seconds": 60, "by": "x"},
                    headers=headers,
                )
                rule = await http.post("/api/alerts/rules", json=cpu_rule(), headers=headers)
                if user == "otto":
                    assert silence.status_code == 201, silence.text
                    assert silence.json()["created_by"] == "otto"  # not the body's "x"
                    assert rule.status_code == 201, rule.text
                    assert rule.json()["created_by"] == "otto"
                else:
                    assert (silence.status_code, rule.status_code) == (403, 403)
                assert (await http.get("/api/alerts/active")).status_code == 200
