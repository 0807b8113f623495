"""Agentless hosts: `mirror-stage up --scrape FILE` reads a real node_exporter (Debian's
prometheus-node-exporter) on loopback. Its host is in the twin, marked as scraped, with CPU,
memory, disks and interfaces that agree with the agent's own reading of this machine; it takes
no command; the scraper's identity publishes for the hosts of its file alone, and follows the
file as it changes."""

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
import pytest_asyncio
from stack_up import RunningStack, last_sample, mirror_stage_up

from loopback_ports import free_port
from mirror_schema import identities, subjects
from stack_cli import mirror_stage
from waiting import wait_until

EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
HOST = "scraped-vm"


@pytest_asyncio.fixture
async def node_exporter() -> AsyncIterator[str]:
    """A real node_exporter on a free loopback port: its host:port."""
    address = f"127.0.0.1:{free_port()}"
    process = await asyncio.create_subprocess_exec(
        EXPORTER,
        f"--web.listen-address={address}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def answering() -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                return (await http.get(f"http://{address}/metrics")).status_code == 200
            except httpx.HTTPError:
                return False

    try:
        await wait_until(answering, timeout=20, what="node_exporter answering")
        yield address
    finally:
        process.terminate()
        await process.wait()


def targets_file(path: Path, address: str, *hosts: str) -> Path:
    groups = [{"targets": [address], "labels": {"host_id": h, "rack": "r9"}} for h in hosts]
    path.write_text(json.dumps(groups))
    return path


def scraping(data_dir: Path, targets: Path) -> AbstractAsyncContextManager[RunningStack]:
    """The stack without an agent, reading the node_exporters of `targets` every second."""
    return mirror_stage_up(
        data_dir, "--no-agent", "--scrape", str(targets), "--scrape-interval", "1"
    )


async def twin_host(stack: RunningStack, token: str, host: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(
            f"http://127.0.0.1:{stack.port('twin')}/api/twin/state",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    return next((h for h in answer.json()["hosts"] if h["host_id"] == host), None)


def agents_own_reading() -> dict[str, Any]:
    """`mirror-agent --once`: the agent's reading of this machine."""
    done = subprocess.run(
        [sys.executable, "-m", "mirror_agent", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reading: dict[str, Any] = json.loads(done.stdout)
    return reading


async def test_a_node_exporters_host_is_in_the_twin_and_agrees_with_the_agent(
    data_dir: Path, tmp_path: Path, node_exporter: str
) -> None:
    targets = targets_file(tmp_path / "targets.json", node_exporter, HOST)
    async with scraping(data_dir, targets) as stack:
        code, printed = await mirror_stage(
            stack.env, "token", "add", "tester", "--role", "operator", "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        token = printed.strip().splitlines()[-1]

        async def shown() -> bool:
            view = await twin_host(stack, token, HOST)
            return view is not None and view["cpu_load"] is not None

        await wait_until(shown, timeout=60, what="the scraped host in the twin")
        view = await twin_host(stack, token, HOST)
        assert view is not None
        assert view["source"] == "scrape"
        assert view["agent_version"].startswith("node_exporter 1.")
        assert view["rack"] == "r9"

        scraped = await last_sample(stack, data_dir, HOST)
        own = await asyncio.to_thread(agents_own_reading)
        assert scraped is not None
        assert scraped["cpu_logical_cores"] == own["cpu_logical_cores"]
        assert scraped["memory_total_bytes"] == own["memory_total_bytes"]
        assert abs(scraped["memory_used_percent"] - own["memory_used_percent"]) < 5
        assert 0 <= scraped["cpu_load"] <= 100
        disks = {d["mountpoint"]: d for d in scraped["disks"]}
        for disk in own["disks"]:
            assert disks[disk["mountpoint"]]["total_bytes"] == disk["total_bytes"]
            assert abs(disks[disk["mountpoint"]]["used_percent"] - disk["used_percent"]) < 3
        interfaces = {i["name"]: i for i in scraped["interfaces"]}
        for interface in own["interfaces"]:
            if interface["name"] == "lo":  # node_exporter leaves loopback out
                continue
            theirs = interfaces[interface["name"]]
            assert theirs["is_up"] == interface["is_up"]
            # Counters read a moment apart: within 5 % (or 1 MB for a quiet link).
            for counter in ("bytes_recv", "bytes_sent"):
                assert abs(theirs[counter] - interface[counter]) <= max(
                    1e6, 0.05 * interface[counter]
                ), (interface["name"], counter)

        # No agent runs there: a command is refused, naming why.
        async with httpx.AsyncClient(timeout=10) as http:
            refused = await http.post(
                f"http://127.0.0.1:{stack.port('commands')}/api/commands",
                json={"hostname": HOST, "command": "uptime"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert refused.status_code == 422, refused.text
        assert "read from its node_exporter by the scraper" in refused.text


async def test_the_scrapers_identity_publishes_for_the_hosts_of_its_file_alone(
    data_dir: Path, tmp_path: Path, node_exporter: str
) -> None:
    targets = targets_file(tmp_path / "targets.json", node_exporter, HOST)
    async with scraping(data_dir, targets) as stack:
        nc = await nats.connect(
            stack.env["MIRROR_STAGE_NATS_URL"],
            nkeys_seed=str(data_dir / "identities" / "scrape.nk"),
            inbox_prefix=identities.inbox_prefix(identities.SCRAPER),
            allow_reconnect=False,
        )
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream().publish(subjects.metrics_raw("not-listed"), b"{}", timeout=1)
        finally:
            await nc.close()
        assert await last_sample(stack, data_dir, "not-listed") is None

        # A host added to the file is read, and the identity may publish for it, without a
        # restart; the host taken out is no longer allowed, a few rounds later. A host
        # enrolled with an agent of its own is never the scraper's to speak for.
        code, printed = await mirror_stage(
            stack.env, "agent", "enroll", "has-agent", "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        targets_file(targets, node_exporter, "scraped-two", "has-agent")
        await wait_until(
            lambda: last_sample(stack, data_dir, "scraped-two"),
            timeout=60,
            what="the host added to the targets file",
        )
        users_file = data_dir / "nats-users.conf"

        def narrowed() -> bool:
            return subjects.metrics_raw(HOST) not in users_file.read_text()

        await wait_until(narrowed, timeout=60, what="the host taken out no longer allowed")
        scraper_rights = json.loads(users_file.read_text().removeprefix("accounts "))
        scraper = next(
            u
            for u in scraper_rights["STAGE"]["users"]
            if "_SCRAPE.>" in u["permissions"]["subscribe"]["allow"]
        )
        assert scraper["permissions"]["publish"]["allow"] == [
            subjects.metrics_raw("scraped-two"),
            "$JS.API.INFO",
        ]
