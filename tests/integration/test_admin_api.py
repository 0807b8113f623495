"""An admin's users and API tokens over HTTP at the twin (/api/admin/...), answered over the
bus by the service holding the database. Each test tries to cross a line it must not: a viewer
or an operator at an admin's routes, a caller on the bus that is not the twin, the last admin
removed or demoted, bad bodies; and the admin's own work has the CLI's effects."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import pytest
import pytest_asyncio
import websockets
import websockets.exceptions
from admin_helpers import AdminStack, People, people, running_admin_stack

from mirror_schema import subjects
from mirror_schema.identities import inbox_prefix, request_subject
from servers import PostgresServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIMEOUT = 20.0
# Every admin route with a body it would accept from an admin.
ADMIN_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users", {"name": "intruder", "role": "admin"}),
    ("PUT", "/api/admin/users/intruder/role", {"role": "admin"}),
    ("POST", "/api/admin/users/intruder/password", {}),
    ("DELETE", "/api/admin/users/intruder", None),
    ("GET", "/api/admin/tokens", None),
    ("POST", "/api/admin/tokens", {"name": "intruder", "role": "admin"}),
    ("DELETE", "/api/admin/tokens/intruder", None),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> AsyncIterator[AdminStack]:
    async with (
        postgres_server.fresh_database() as database,
        running_admin_stack(tmp_path_factory.mktemp("admin"), database) as running,
    ):
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def folks(stack: AdminStack) -> People:
    return await people(stack)


async def test_a_viewer_an_operator_and_an_operators_token_get_403_everywhere(
    folks: People, stack: AdminStack
) -> None:
    for persona in ("vera", "otto"):
        session = await folks.session(persona)
        try:
            for method, path, body in ADMIN_ROUTES:
                answer = await session.call(method, path, body)
                assert answer.status_code == 403, (persona, method, path, answer.text)
                assert "needs the admin role" in answer.json()["detail"]
        finally:
            await session.close()
    async with folks.bearer() as http:
        for method, path, body in ADMIN_ROUTES:
            answer = await http.request(method, path, json=body)
            assert answer.status_code == 403, (method, path)
    async with folks.bearer("not-a-token") as http:
        assert (await http.get("/api/admin/users")).status_code == 401
    names = [row["name"] for row in await stack.pool.fetch("SELECT name FROM auth_users")]
    assert "intruder" not in names
    assert (
        await stack.pool.fetchval("SELECT count(*) FROM auth_tokens WHERE name = 'intruder'") == 0
    )


async def test_an_admin_adds_a_user_who_must_replace_the_one_time_password(
    folks: People, stack: AdminStack
) -> None:
    ada = await folks.session("ada")
    name = f"newcomer-{folks.name('ada')}"
    try:
        added = await ada.call("POST", "/api/admin/users", {"name": name, "role": "operator"})
        assert added.status_code == 201, added.text
        password = added.json()["one_time_password"]
        assert added.json()["role"] == "operator"
        listed = {u["name"]: u for u in (await ada.call("GET", "/api/admin/users")).json()["items"]}
        assert listed[name]["password_change_required"] is True
        assert listed[name]["last_login_at"] is None
        assert "password" not in str(listed[name]).replace("password_change_required", "")
        again = await ada.call("POST", "/api/admin/users", {"name": name, "role": "viewer"})
        assert again.status_code == 409
        assert again.json()["detail"].startswith("name: ")

        folks.names["newcomer"], folks.passwords["newcomer"] = name, password
        newcomer = await folks.session("newcomer")
        try:
            assert (await newcomer.call("GET", "/api/alerts/rules")).status_code == 403
        finally:
            await newcomer.close()
        listed = {u["name"]: u for u in (await ada.call("GET", "/api/admin/users")).json()["items"]}
        assert listed[name]["last_login_at"] is not None
    finally:
        await ada.close()


async def test_a_role_change_holds_from_the_users_next_requests(folks: People) -> None:
    ada, otto = await folks.session("ada"), await folks.session("otto")
    silence = {"matchers": {"host_ids": ["web-1"]}, "duration_seconds": 60}
    try:
        allowed = await otto.call("POST", "/api/alerts/silences", silence)
        assert allowed.status_code == 201, allowed.text
        changed = await ada.call(
            "PUT", f"/api/admin/users/{folks.name('otto')}/role", {"role": "viewer"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == "viewer"
        refused = await otto.call("POST", "/api/alerts/silences", silence)
        assert refused.status_code == 403
        assert "is a viewer" in refused.json()["detail"]
    finally:
        await ada.close()
        await otto.close()


async def test_a_password_reset_ends_the_users_sessions_and_gives_a_new_one_time_one(
    folks: People,
) -> None:
    ada, vera = await folks.session("ada"), await folks.session("vera")
    try:
        assert (await vera.call("GET", "/api/alerts/rules")).status_code == 200
        reset = await ada.call("POST", f"/api/admin/users/{folks.name('vera')}/password")
        assert reset.status_code == 200, reset.text
        assert reset.json()["one_time_password"] != folks.passwords["vera"]
        assert (await vera.call("GET", "/api/alerts/rules")).status_code == 401
        old = await vera.http.post(
            "/api/auth/login",
            json={"user": folks.name("vera"), "password": folks.passwords["vera"]},
        )
        assert old.status_code == 401
    finally:
        await ada.close()
        await vera.close()


async def test_a_removed_user_loses_their_session_and_live_socket(folks: People) -> None:
    ada, vera = await folks.session("ada"), await folks.session("vera")
    socket_url = folks.stack.twin.replace("http", "ws") + "/ws/twin"
    cookie = f"mirror_session={vera.http.cookies['mirror_session']}"
    try:
        async with websockets.connect(socket_url, additional_headers={"Cookie": cookie}) as socket:
            await socket.recv()  # the first frame: the socket is live
            removed = await ada.call("DELETE", f"/api/admin/users/{folks.name('vera')}")
            assert removed.status_code == 204, removed.text
            # At once at this twin, not after its cached check runs out.
            assert (await vera.call("GET", "/api/alerts/rules")).status_code == 401
            closed = await _closing(socket)
            assert closed.rcvd is not None
            assert closed.rcvd.code == 1008
        gone = await ada.call("DELETE", f"/api/admin/users/{folks.name('vera')}")
        assert gone.status_code == 404
        assert gone.json()["detail"].startswith("name: no user")
    finally:
        await ada.close()
        await vera.close()


async def _closing(
    socket: websockets.ClientConnection,
) -> websockets.exceptions.ConnectionClosed:
    """How the server closed `socket` (whatever frames come first)."""
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await socket.recv()
    except websockets.exceptions.ConnectionClosed as closed:
        return closed


async def test_a_token_is_shown_once_works_and_is_refused_once_revoked(
    folks: People, stack: AdminStack
) -> None:
    ada = await folks.session("ada")
    name = f"robot-{folks.name('ada')}"
    try:
        added = await ada.call("POST", "/api/admin/tokens", {"name": name, "role": "viewer"})
        assert added.status_code == 201, added.text
        secret = added.json()["token"]
        listed = (await ada.call("GET", "/api/admin/tokens")).json()["items"]
        mine = [t for t in listed if t["name"] == name]
        assert mine
        assert mine[0]["role"] == "viewer"
        assert secret not in str(listed)
        async with folks.bearer(secret) as robot:
            assert (await robot.get("/api/alerts/rules")).status_code == 200
            assert (await robot.post("/api/alerts/silences", json={})).status_code == 403
            revoked = await ada.call("DELETE", f"/api/admin/tokens/{name}")
            assert revoked.status_code == 204
            assert (await robot.get("/api/alerts/rules")).status_code == 401
        assert (await ada.call("DELETE", f"/api/admin/tokens/{name}")).status_code == 404
    finally:
        await ada.close()


async def test_the_last_admin_is_neither_removed_nor_demoted(
    folks: People, stack: AdminStack
) -> None:
    me = folks.name("ada")
    # This test's admin becomes the only one (the module's earlier admins step down).
    await stack.pool.execute(
        "UPDATE auth_users SET role = 'operator' WHERE role = 'admin' AND name <> $1", me
    )
    ada = await folks.session("ada")
    try:
        removed = await ada.call("DELETE", f"/api/admin/users/{me}")
        assert removed.status_code == 409
        assert "last admin" in removed.json()["detail"]
        demoted = await ada.call("PUT", f"/api/admin/users/{me}/role", {"role": "operator"})
        assert demoted.status_code == 409
        assert "last admin" in demoted.json()["detail"]
        assert await stack.pool.fetchval("SELECT role FROM auth_users WHERE name = $1", me) == (
            "admin"
        )
        # With a second admin, the first may step down.
        promoted = await ada.call(
            "PUT", f"/api/admin/users/{folks.name('otto')}/role", {"role": "admin"}
        )
        assert promoted.status_code == 200
        demoted = await ada.call("PUT", f"/api/admin/users/{me}/role", {"role": "operator"})
        assert demoted.status_code == 200, demoted.text
    finally:
        await ada.close()


BAD_BODIES: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/api/admin/users", {"name": "Bad Name", "role": "viewer"}, 422, "name: "),
    ("POST", "/api/admin/users", {"name": "fine", "role": "root"}, 422, "role: "),
    ("POST", "/api/admin/users", {"name": "fine"}, 422, "role: "),
    ("POST", "/api/admin/users", {"name": "fine", "role": "viewer", "x": 1}, 422, "x: "),
    ("POST", "/api/admin/users", [1], 422, "body: "),
    ("POST", "/api/admin/tokens", {"name": "x" * 65, "role": "viewer"}, 422, "name: "),
    ("PUT", "/api/admin/users/nobody-here/role", {"role": "viewer"}, 404, "name: no user"),
    ("PUT", "/api/admin/users/NOT_A_NAME/role", {"role": "viewer"}, 422, "name: "),
    ("POST", "/api/admin/users/nobody-here/password", {}, 404, "name: no user"),
    ("DELETE", "/api/admin/tokens/nobody-here", None, 404, "name: no token"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "starts"),
    BAD_BODIES,
    ids=[f"{m} {p} {s}" for m, p, _, s, _ in BAD_BODIES],
)
async def test_a_bad_request_is_refused_naming_the_field_never_500(
    folks: People, method: str, path: str, body: Any, status: int, starts: str
) -> None:
    ada = await folks.session("ada")
    try:
        answer = await ada.call(method, path, body)
        assert answer.status_code == status, answer.text
        assert answer.json()["detail"].startswith(starts), answer.json()
        broken = await ada.http.post(
            "/api/admin/users",
            content=b"{oops",
            headers={"X-CSRF-Token": ada.csrf, "content-type": "application/json"},
        )
        assert broken.status_code == 400
    finally:
        await ada.close()


async def test_on_the_bus_only_the_twin_may_manage_accounts(stack: AdminStack) -> None:
    """Another service's identity (which the bus's permissions would stop first) is refused
    by the service as well, whatever operator its body names."""
    nc = await nats.connect(stack.nats_url, inbox_prefix=inbox_prefix("ingest"))
    try:
        body = msgspec.json.encode({"name": "sneaky", "role": "admin", "by": "ada-1"})
        reply = await nc.request(
            request_subject(subjects.AUTH_API_USERS_ADD, "ingest"), body, timeout=20
        )
        answer = msgspec.json.decode(reply.data)
        assert answer["code"] == "forbidden", answer
        listed = await nc.request(
            request_subject(subjects.AUTH_API_USERS_LIST, "ingest"), b"", timeout=20
        )
        assert msgspec.json.decode(listed.data)["code"] == "forbidden"
    finally:
        await nc.close()
    assert await stack.pool.fetchval("SELECT count(*) FROM auth_users WHERE name = 'sneaky'") == 0
