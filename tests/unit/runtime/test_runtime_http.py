"""mirror_runtime.http on a small app of its own: the body cap, whether the body's size is
declared or not, and the security headers on every answer."""

from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mirror_runtime.http import (
    CONTENT_SECURITY_POLICY,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
)

LIMIT = 1000
UPLOAD_LIMIT = 5000


async def echo_size(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/echo", echo_size, methods=["POST"]),
            Route("/upload", echo_size, methods=["POST"]),
        ]
    )
    app.add_middleware(BodyLimitMiddleware, default=LIMIT, limits={"/upload": UPLOAD_LIMIT})
    app.add_middleware(SecurityHeadersMiddleware)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stage")


async def chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    """`total` bytes in pieces, with no Content-Length: the cap must count what it reads."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


async def test_a_body_within_its_cap_reaches_the_route() -> None:
    async with client() as http:
        answer = await http.post("/echo", content=b"x" * LIMIT)
    assert (answer.status_code, answer.json()) == (200, {"size": LIMIT})


async def test_a_declared_size_over_the_cap_is_413_naming_the_limit_and_the_path() -> None:
    async with client() as http:
        answer = await http.post("/echo", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        f"body: {LIMIT + 1} bytes, over the limit of {LIMIT} bytes for /echo; send a smaller body"
    )


async def test_an_undeclared_size_is_counted_as_it_is_read() -> None:
    async with client() as http:
        within = await http.post("/echo", content=chunks(LIMIT))
        over = await http.post("/echo", content=chunks(LIMIT * 3))
    assert (within.status_code, within.json()) == (200, {"size": LIMIT})
    assert over.status_code == 413
    assert f"more than {LIMIT} bytes" in over.json()["detail"]


async def test_a_path_given_its_own_cap_takes_that_one() -> None:
    async with client() as http:
        larger = await http.post("/upload", content=b"x" * UPLOAD_LIMIT)
        too_large = await http.post("/upload", content=b"x" * (UPLOAD_LIMIT + 1))
    assert (larger.status_code, larger.json()) == (200, {"size": UPLOAD_LIMIT})
    assert too_large.status_code == 413
    assert f"limit of {UPLOAD_LIMIT} bytes for /upload" in too_large.json()["detail"]


async def test_every_answer_carries_the_security_headers_refusals_and_404s_too() -> None:
    async with client() as http:
        answers = [
            await http.post("/echo", content=b"{}"),
            await http.post("/echo", content=b"x" * (LIMIT + 1)),
            await http.get("/nowhere"),
        ]
    assert [a.status_code for a in answers] == [200, 413, 404]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
