"""The twin's routes: GET /api/twin/state and WS /ws/twin."""

import asyncio
import contextlib

from fastapi import APIRouter, Response, WebSocket, WebSocketDisconnect

from mirror_twin.engine import TwinEngine


def twin_router(engine: TwinEngine) -> APIRouter:
    """The latest frame over HTTP, and frames then diffs over one WebSocket per browser."""
    router = APIRouter()

    @router.get("/api/twin/state")
    async def state() -> Response:
        return Response(content=engine.snapshot(), media_type="application/json")

    @router.websocket("/ws/twin")
    async def live(socket: WebSocket) -> None:
        await socket.accept()
        client = engine.broadcaster.join()

        async def send() -> None:
            while True:
                message = await engine.broadcaster.next_message(client)
                await socket.send_text(message.decode())

        async def receive() -> None:
            # A client that saw a gap in seq sends "frame" and gets a full one.
            while True:
                if await socket.receive_text() == "frame":
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
