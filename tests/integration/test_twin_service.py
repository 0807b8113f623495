"""`python -m mirror_twin` as deployed: samples from the bus to a real WebSocket client."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest_asyncio
import websockets
from twin_helpers import publish_tick, twin_spec

from loopback_ports import free_port
from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_schema import codec
from mirror_stage.supervisor import Supervised
from waiting import wait_until


@pytest_asyncio.fixture
async def twin(own_nats: str, tmp_path: Path) -> AsyncIterator[int]:
    port = free_port()
    part = Supervised(twin_spec(own_nats, tmp_path / "twin.log", port))
    await part.start()
    yield port
    await part.stop()


async def test_a_client_gets_a_full_frame_then_diffs_in_order(own_nats: str, twin: int) -> None:
    """Hosts published before the client connects are in its first frame; later samples come
    as diffs whose seq increases and whose base_seq is the seq before."""
    fleet = SimulatedFleet(5, 11, interval=1.0, prefix="tw")
    start = datetime.now(UTC).timestamp() - 10
    await publish_tick(own_nats, fleet, start)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{twin}") as http:

        async def all_hosts() -> bool:
            state = (await http.get("/api/twin/state")).json()
            return len(state["hosts"]) == 5

        await wait_until(all_hosts, timeout=15, what="five hosts in the twin")
    async with websockets.connect(f"ws://127.0.0.1:{twin}/ws/twin") as socket:
        first = codec.decode_twin_message(await socket.recv())
        assert type(first).__name__ == "TwinFrame"
        assert len(first.hosts) == 5
        seq = first.seq
        await publish_tick(own_nats, fleet, start + 1)
        changed: set[str] = set()
        async with asyncio.timeout(15):
            while len(changed) < 5:
                diff = codec.decode_twin_message(await socket.recv())
                assert type(diff).__name__ == "TwinDiff"
                assert diff.seq > seq
                assert diff.base_seq == seq  # type: ignore[union-attr]
                seq = diff.seq
                changed |= {host.host_id for host in diff.hosts}
    assert changed == {host.host_id for host in first.hosts}


async def host_position(port: int, host_id: str) -> tuple[int, dict[str, float]] | None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for host in (await http.get("/api/twin/state")).json()["hosts"]:
            if host["host_id"] == host_id:
                return host["layer"], host["position"]
    return None


async def test_a_placement_reaches_every_replica_and_survives_a_restart(
    own_nats: str, twin: int, tmp_path: Path
) -> None:
    """PUT on one replica: another replica applies it, and so does a replica started later."""
    fleet = SimulatedFleet(2, 5, interval=1.0, prefix="pl")
    await publish_tick(own_nats, fleet, datetime.now(UTC).timestamp() - 5)
    host_id = fleet.hosts[0].host_id
    other_port = free_port()
    other = Supervised(twin_spec(own_nats, tmp_path / "other.log", other_port))
    await other.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{twin}") as http:
            bad = await http.put(f"/api/twin/hosts/{host_id}/placement", json={"layer": 9})
            assert bad.status_code == 422
            assert "layer" in bad.json()["detail"] or "position" in bad.json()["detail"]
            answer = await http.put(
                f"/api/twin/hosts/{host_id}/placement",
                json={"layer": 2, "position": {"x": 1.5, "y": 0.0, "z": -3.0}},
            )
            assert answer.status_code == 200, answer.text
        wanted = (2, {"x": 1.5, "y": 0.0, "z": -3.0})

        async def applied(port: int) -> bool:
            return await host_position(port, host_id) == wanted

        await wait_until(lambda: applied(other_port), timeout=15, what="the other replica")
        await wait_until(lambda: applied(twin), timeout=15, what="the first replica")
    finally:
        await other.stop()
    later_port = free_port()
    later = Supervised(twin_spec(own_nats, tmp_path / "later.log", later_port))
    await later.start()
    try:
        await wait_until(lambda: applied(later_port), timeout=15, what="a restarted replica")
    finally:
        await later.stop()


async def test_a_hosts_whole_latest_sample_is_served_for_the_huds_card(
    own_nats: str, twin: int
) -> None:
    """GET /api/twin/hosts/{id}: the sample the card and the per-host widgets show, and the
    one before it (null until there is one) for rates; a host the twin does not hold, or no
    host id at all, is a 404 naming it."""
    fleet = SimulatedFleet(2, 5, interval=1.0, prefix="card")
    started = datetime.now(UTC).timestamp()
    await publish_tick(own_nats, fleet, started)
    host = fleet.hosts[0]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{twin}") as http:

        async def served() -> bool:
            return (await http.get(f"/api/twin/hosts/{host.host_id}")).status_code == 200

        await wait_until(served, timeout=15, what="the host in the twin")
        body = (await http.get(f"/api/twin/hosts/{host.host_id}")).json()
        assert body["host_id"] == host.host_id
        assert body["sample"]["hostname"] == host.hostname
        assert body["sample"]["cpu_model"]
        assert body["sample"]["disks"]
        assert body["sample"]["interfaces"]
        assert body["previous"] is None
        first = body["sample"]["timestamp"]
        await publish_tick(own_nats, fleet, started + 1)

        async def second() -> bool:
            answer = (await http.get(f"/api/twin/hosts/{host.host_id}")).json()
            return answer["previous"] is not None

        await wait_until(second, timeout=15, what="the host's second sample")
        body = (await http.get(f"/api/twin/hosts/{host.host_id}")).json()
        assert body["previous"]["timestamp"] == first
        assert body["sample"]["timestamp"] > first
        for unknown in ("nobody-here", "Not A Host!"):
            missing = await http.get(f"/api/twin/hosts/{unknown}")
            assert missing.status_code == 404
            assert unknown in missing.json()["detail"]
