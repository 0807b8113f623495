"""The twin's routes: GET /api/twin/state and WS /ws/twin."""

import asyncio
import contextlib

import msgspec
import nats.errors
from fastapi import APIRouter, HTTPException, Request, Response, WebSocket, WebSocketDisconnect

from mirror_schema.hosts import is_valid_host_id
from mirror_twin.engine import TwinEngine
from mirror_twin.placements import decode_placement


def twin_router(engine: TwinEngine) -> APIRouter:
    """The latest frame over HTTP, and frames then diffs over one WebSocket per browser."""
    router = APIRouter()

    @router.get("/api/twin/state")
    async def state() -> Response:
        return Response(content=engine.snapshot(), media_type="application/json")

    @router.get("/api/twin/hosts/{host_id}")
    async def host(host_id: str) -> Response:
        # The selected host's whole latest sample (the HUD's card and per-host widgets) and
        # the one before it, from which the HUD shows rates at once.
        held = engine.state.held(host_id) if is_valid_host_id(host_id) else None
        if held is None:
            raise HTTPException(
                404, f"no host {host_id!r} in the twin; has its agent published yet?"
            )
        return Response(
            content=msgspec.json.encode(
                {"host_id": host_id, "sample": held[0], "previous": held[1]}
            ),
            media_type="application/json",
        )

    @router.put("/api/twin/hosts/{host_id}/placement")
    async def place(host_id: str, request: Request) -> Response:
        if not is_valid_host_id(host_id):
            raise HTTPException(422, f"host_id {host_id!r} is not a valid host id")
        try:
            placement = decode_placement(await request.body())
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise HTTPException(422, f"body: {exc}") from None
        try:
            await engine.placements.save(host_id, placement)
        except (nats.errors.Error, TimeoutError) as exc:
            raise HTTPException(503, f"the placement could not be stored: {exc}") from None
        return Response(
            content=msgspec.json.encode({"host_id": host_id, **msgspec.to_builtins(placement)}),
            media_type="application/json",
        )

    @router.websocket("/ws/twin")
    async def live(socket: WebSocket) -> None:
        await socket.accept()
        client = engine.broadcaster.join()

        async def send() -> None:
            while True:
                message = await engine.broadcaster.next_message(client)
                await socket.send_text(message.decode())

        async def receive() -> None:
            # A client that saw a gap in seq sends "frame" and gets a full one. Anything else,
            # binary messages included, is ignored: receive_text() would raise on those.
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") == "frame":
                    client.behind = True
                    client.wake.set()

        tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            engine.broadcaster.leave(client)

    return router
