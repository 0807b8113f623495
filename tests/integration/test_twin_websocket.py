"""WS /ws/twin of `python -m mirror_twin`: slow clients resynced, frames on request, clean close."""

import asyncio
import contextlib
import dataclasses
import socket
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets
from twin_helpers import metric_value, publish_tick, running_twin, twin_spec
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from loopback_ports import free_port
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_stage.supervisor import Supervised
from waiting import wait_until

# Other messages (alerts, command results) share the socket; these tests skip them.
TWIN_TYPES = ("frame", "diff")
# So long an interval that the hosts stay online throughout: no sweep sends a diff of its own.
INTERVAL = 60.0
RESYNCS = "mirror_twin_client_resyncs_total"


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/ws/twin"


def a_while_ago() -> int:
    """Whole epoch seconds, so that timestamps compare exactly once through JSON."""
    return int(datetime.now(UTC).timestamp()) - 30


async def twin_state(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/api/twin/state")
    response.raise_for_status()
    state: dict[str, Any] = msgspec.json.decode(response.content)
    return state


async def twin_has_hosts(base_url: str, count: int) -> bool:
    return len((await twin_state(base_url))["hosts"]) == count


class Follower:
    """A client that keeps up: reads every message in the background.

    It keeps (type, seq, base_seq) of each frame and diff, and each host's latest last_seen.
    """

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.received: list[tuple[str, int, int | None]] = []
        self.last_seen: dict[str, datetime] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.socket:
                message = msgspec.json.decode(raw)
                if message["type"] not in TWIN_TYPES:
                    continue
                self.received.append((message["type"], message["seq"], message.get("base_seq")))
                for host in message["hosts"]:  # a diff's may be partial: host_id, what changed
                    if host.get("last_seen") is not None:
                        seen = datetime.fromisoformat(host["last_seen"])
                        self.last_seen[host["host_id"]] = seen

    @property
    def seq(self) -> int:
        """The seq of the last frame or diff received (-1 before any)."""
        return self.received[-1][1] if self.received else -1

    def hosts_seen_at(self, at: int) -> int:
        """How many hosts this client knows were last seen at epoch `at`."""
        moment = datetime.fromtimestamp(at, UTC)
        return sum(1 for seen in self.last_seen.values() if seen == moment)

    def assert_unbroken(self) -> None:
        """One frame, then diffs each based on the seq before: nothing missed, no resync."""
        if self.task.done():
            self.task.result()  # what stopped the reading, if it failed
        assert self.received, "no frame received"
        kinds = [kind for kind, _, _ in self.received]
        assert kinds[0] == "frame"
        assert "frame" not in kinds[1:], f"the client was resynced: {self.received}"
        for (_, before, _), (_, seq, base) in zip(self.received, self.received[1:], strict=False):
            assert base == before, f"diff {seq} is based on {base}, the seq before is {before}"


async def received_tick(client: Follower, at: int, published: int) -> None:
    """Wait until `client` has had diffs of all `published` hosts of the tick at epoch `at`."""
    await wait_until(
        lambda: client.hosts_seen_at(at) == published,
        timeout=10,
        what=f"{published} hosts last seen at {at} in the client's diffs",
    )


class StalledClient:
    """A WebSocket client on a raw TCP socket that reads only inside recv().

    Its receive buffer and segments are made tiny before connecting (they set the window and
    the segment size the server sees), and it offers no compression: between calls to recv()
    the server's sends really back up.
    """

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self.frames: deque[Frame] = deque()

    @classmethod
    async def connect(cls, url: str) -> "StalledClient":
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # Small segments keep the server's send buffer small too: the kernel sizes it in them.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
        sock.setblocking(False)
        await loop.sock_connect(sock, (uri.host, uri.port))
        protocol = ClientProtocol(uri, max_size=None)
        protocol.send_request(protocol.connect())
        client = cls(sock, protocol)
        try:
            await client._send_pending()
            async with asyncio.timeout(10):
                while protocol.state is State.CONNECTING:
                    await client._read()
        except BaseException:
            sock.close()
            raise
        if protocol.handshake_exc is not None:
            sock.close()
            raise protocol.handshake_exc
        return client

    async def _send_pending(self) -> None:
        # The handshake, then what the protocol answers by itself: pongs, the close reply.
        for data in self.protocol.data_to_send():
            if data:
                await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def _read(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 1 << 16)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self.frames.extend(e for e in self.protocol.events_received() if isinstance(e, Frame))
        await self._send_pending()

    async def recv(self) -> dict[str, Any]:
        """The next frame or diff, reading the socket as far as needed."""
        parts: list[bytes] = []
        while True:
            while not self.frames:
                if self.protocol.state is State.CLOSED:
                    raise ConnectionClosed(self.protocol.close_rcvd, self.protocol.close_sent)
                await self._read()
            frame = self.frames.popleft()
            if frame.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                continue  # ping, pong, close: the protocol has dealt with them
            parts.append(bytes(frame.data))
            if frame.fin:
                message: dict[str, Any] = msgspec.json.decode(b"".join(parts))
                if message["type"] in TWIN_TYPES:
                    return message
                parts = []

    async def send(self, text: str) -> None:
        """Send a text message (sending does not make it read)."""
        self.protocol.send_text(text.encode())
        await self._send_pending()

    def close(self) -> None:
        self.sock.close()


async def test_a_client_that_never_reads_does_not_delay_others_and_is_resynced(
    own_nats: str, tmp_path: Path
) -> None:
    """While one client reads nothing, another gets every diff in order; the stalled one's
    queue overflows, and once it reads again it gets a full frame at least as new as what the
    other client had, then diffs that follow on from that frame."""
    # Every host changes on every tick: a diff is ~200 kB, more than the twin's transport and
    # the kernel buffer for a client that does not read.
    hosts = 300
    env = {"MIRROR_STAGE_TWIN_CLIENT_QUEUE": "2", "MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS": "20"}
    fleet = SimulatedFleet(hosts, 7, interval=INTERVAL, prefix="ws")
    start = a_while_ago()
    async with running_twin(own_nats, tmp_path / "twin.log", env) as twin:
        base = twin.spec.address
        await publish_tick(own_nats, fleet, start)
        await wait_until(lambda: twin_has_hosts(base, hosts), timeout=15, what="the hosts")
        stalled = await StalledClient.connect(ws_url(base))
        try:
            async with websockets.connect(ws_url(base), max_size=None, proxy=None) as socket:
                fast = Follower(socket)
                # Publish until the twin has dropped the stalled client's queue: how much that
                # takes depends on the kernel's socket buffers.
                at = start
                async with asyncio.timeout(60):
                    while True:
                        at += 1
                        published = await publish_tick(own_nats, fleet, at)
                        if await metric_value(base, RESYNCS) > 0:
                            break

                await received_tick(fast, at, published)
                fast.assert_unbroken()
                assert len(fast.received) > at - start  # a diff or more for every tick
                seen_by_fast = fast.seq
                assert seen_by_fast == (await twin_state(base))["seq"]

                # The stalled client reads again: what was in flight, then a fresh frame.
                async with asyncio.timeout(15):
                    message = await stalled.recv()
                    assert message["type"] == "frame"  # the one it got on joining
                    seq = message["seq"]
                    while (message := await stalled.recv())["type"] == "diff":
                        assert message["base_seq"] == seq
                        seq = message["seq"]
                assert message["seq"] >= seen_by_fast
                assert len(message["hosts"]) == hosts
                seq = message["seq"]

                published = await publish_tick(own_nats, fleet, at + 1)
                async with asyncio.timeout(15):
                    message = await stalled.recv()
                assert message["type"] == "diff"
                assert message["base_seq"] == seq
                await received_tick(fast, at + 1, published)
                fast.assert_unbroken()
        finally:
            stalled.close()


async def test_a_client_that_asks_for_a_frame_gets_one_next(own_nats: str, tmp_path: Path) -> None:
    """The text "frame" from a client (it saw a gap in seq) is answered by a full frame at the
    latest seq, and the diffs after it are based on that frame."""
    hosts = 20
    fleet = SimulatedFleet(hosts, 5, interval=INTERVAL, prefix="fr")
    start = a_while_ago()
    async with running_twin(own_nats, tmp_path / "twin.log") as twin:
        base = twin.spec.address
        await publish_tick(own_nats, fleet, start)
        await wait_until(lambda: twin_has_hosts(base, hosts), timeout=15, what="the hosts")
        async with websockets.connect(ws_url(base), proxy=None) as socket:
            client = Follower(socket)
            # Once every sample of the tick has come as a diff, the twin has nothing to send.
            await received_tick(client, start + 1, await publish_tick(own_nats, fleet, start + 1))
            client.assert_unbroken()
            latest = client.seq
            assert latest == (await twin_state(base))["seq"]
            count = len(client.received)

            await socket.send("frame")
            await wait_until(lambda: len(client.received) > count, timeout=10, what="a reply")
            assert client.received[count] == ("frame", latest, None)

            await publish_tick(own_nats, fleet, start + 2)
            await wait_until(lambda: len(client.received) > count + 1, timeout=10, what="a diff")
            kind, _, base_seq = client.received[count + 1]
            assert (kind, base_seq) == ("diff", latest)


async def test_a_frame_asked_for_replaces_the_diffs_waiting_for_the_client(
    own_nats: str, tmp_path: Path
) -> None:
    """A client behind by a few diffs (fewer than its queue holds) asks for a frame: it gets
    the frame, then only diffs based on it, none of the older ones that were waiting."""
    hosts = 300  # the first frame alone backs up the twin's sends to a client that does not read
    fleet = SimulatedFleet(hosts, 7, interval=INTERVAL, prefix="wf")
    start = a_while_ago()
    async with running_twin(own_nats, tmp_path / "twin.log") as twin:
        base = twin.spec.address
        await publish_tick(own_nats, fleet, start)
        await wait_until(lambda: twin_has_hosts(base, hosts), timeout=15, what="the hosts")
        stalled = await StalledClient.connect(ws_url(base))
        try:
            async with websockets.connect(ws_url(base), max_size=None, proxy=None) as socket:
                fast = Follower(socket)
                for at in range(start + 1, start + 4):
                    await received_tick(fast, at, await publish_tick(own_nats, fleet, at))
                fast.assert_unbroken()
                diffs = len(fast.received) - 1
                assert await metric_value(base, RESYNCS) == 0  # no diff was dropped yet

                await stalled.send("frame")
                async with asyncio.timeout(15):
                    message = await stalled.recv()
                    assert message["type"] == "frame"  # the one it got on joining
                    seq = message["seq"]
                    in_flight = 0
                    while (message := await stalled.recv())["type"] == "diff":
                        assert message["base_seq"] == seq
                        seq = message["seq"]
                        in_flight += 1
                    assert message["seq"] == fast.seq
                    assert in_flight < diffs  # some diffs were waiting: the frame replaced them
                    seq = message["seq"]
                    await publish_tick(own_nats, fleet, start + 4)
                    message = await stalled.recv()
                assert message["type"] == "diff"
                assert message["base_seq"] == seq
        finally:
            stalled.close()


async def test_messages_other_than_frame_are_ignored(own_nats: str, tmp_path: Path) -> None:
    """A binary message or other text from a client changes nothing: the socket stays open and
    the diffs keep coming, based on the seq before."""
    fleet = SimulatedFleet(5, 3, interval=INTERVAL, prefix="ig")
    start = a_while_ago()
    async with running_twin(own_nats, tmp_path / "twin.log") as twin:
        await publish_tick(own_nats, fleet, start)
        async with websockets.connect(ws_url(twin.spec.address), proxy=None) as socket:
            client = Follower(socket)
            await wait_until(lambda: len(client.received) > 0, timeout=10, what="the first frame")
            await socket.send(b"frame")
            await socket.send("hello")
            await received_tick(client, start + 1, await publish_tick(own_nats, fleet, start + 1))
            assert not client.task.done()
            client.assert_unbroken()


async def test_shutdown_closes_websockets_with_a_close_frame(own_nats: str, tmp_path: Path) -> None:
    """SIGTERM while a client is connected: the client gets a close frame saying the server is
    going away or restarting (not an abnormal 1006), and the twin exits 0 promptly."""
    async with (
        running_twin(own_nats, tmp_path / "twin.log") as twin,
        websockets.connect(ws_url(twin.spec.address), proxy=None) as socket,
    ):
        first = msgspec.json.decode(await socket.recv())
        assert first["type"] == "frame"

        async def read_until_closed() -> ConnectionClosed:
            while True:
                try:
                    await socket.recv()
                except ConnectionClosed as exc:
                    return exc

        reading = asyncio.create_task(read_until_closed())
        code = await twin.stop()  # not 0 if it had to be killed at the end of the grace period
        async with asyncio.timeout(5):
            closed = await reading
    assert closed.rcvd is not None, f"no close frame from the twin: {closed}"
    assert closed.rcvd.code in (1001, 1012)
    assert code == 0


async def test_shutdown_does_not_wait_for_a_client_that_never_reads(
    own_nats: str, tmp_path: Path
) -> None:
    """SIGTERM while a client reads nothing and the twin's sends to it are backed up: the twin
    still exits 0 within its grace period."""
    hosts = 300
    fleet = SimulatedFleet(hosts, 7, interval=INTERVAL, prefix="sd")
    start = a_while_ago()
    queue = {"MIRROR_STAGE_TWIN_CLIENT_QUEUE": "2"}  # a resync then shows the sends backed up
    spec = twin_spec(own_nats, tmp_path / "twin.log", free_port(), queue)
    twin = Supervised(dataclasses.replace(spec, stop_grace_seconds=5))
    await twin.start()
    try:
        await publish_tick(own_nats, fleet, start)
        await wait_until(lambda: twin_has_hosts(twin.spec.address, hosts), timeout=15, what="hosts")
        stalled = await StalledClient.connect(ws_url(twin.spec.address))
        try:
            at = start
            async with asyncio.timeout(60):
                while await metric_value(twin.spec.address, RESYNCS) == 0:
                    at += 1
                    await publish_tick(own_nats, fleet, at)
            code = await twin.stop()
        finally:
            stalled.close()
    finally:
        await twin.stop()
    assert code == 0
