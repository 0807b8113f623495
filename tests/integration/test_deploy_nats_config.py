"""deploy/nats/nats.conf as compose runs it: the real nats-server reads it with the users
block `mirror-stage compose-init` writes, a service's seed connects and uses JetStream, and a
client without credentials is refused."""

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.aio.client
import nats.errors
import pytest_asyncio

from loopback_ports import free_port
from mirror_schema.identities import inbox_prefix
from mirror_stage.compose_init import Owner, compose_init
from mirror_stage.natsd import nats_server_binary
from mirror_stage.stack_layout import stack_layout
from servers import stranger_refusal
from waiting import wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest_asyncio.fixture
async def compose_nats(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """nats-server with deploy/nats/nats.conf, its paths and ports moved into `tmp_path`;
    yields its URL and the init service's export directory."""
    export = tmp_path / "export"
    layout = stack_layout({}, data_dir=tmp_path / "state", log_format="json")
    compose_init(layout, export, Owner(os.getuid(), os.getgid()))
    etc = tmp_path / "etc" / "nats"
    (etc / "auth").mkdir(parents=True)
    (etc / "auth" / "users.conf").write_text((export / "nats" / "users.conf").read_text())
    port = free_port()
    config = (DEPLOY / "nats" / "nats.conf").read_text()
    config = config.replace('"/data"', f'"{tmp_path / "data"}"')
    config = re.sub(r"^port: 4222$", f"port: {port}", config, flags=re.MULTILINE)
    config = re.sub(r"^http_port: 8222$", f"http_port: {free_port()}", config, flags=re.MULTILINE)
    (etc / "nats.conf").write_text(config)
    with (tmp_path / "nats.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            str(nats_server_binary()),
            "--config",
            str(etc / "nats.conf"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    url = f"nats://127.0.0.1:{port}"
    seed = str(export / "twin" / "nats.nk")

    async def answers() -> bool:
        try:
            nc = await nats.connect(
                url, nkeys_seed=seed, connect_timeout=1, max_reconnect_attempts=0
            )
        except (nats.errors.Error, OSError):
            return False
        await nc.close()
        return True

    try:
        await wait_until(answers, timeout=20, what="the compose nats-server")
        yield url, export
    finally:
        server.terminate()
        await server.wait()


async def test_a_service_connects_with_its_seed_and_a_stranger_is_refused(
    compose_nats: tuple[str, Path],
) -> None:
    url, export = compose_nats
    service = await nats.connect(
        url,
        nkeys_seed=str(export / "commands" / "nats.nk"),
        inbox_prefix=inbox_prefix("commands"),  # its replies' only subjects
    )
    try:
        info = await service.jetstream().account_info()
        assert info.limits is not None  # JetStream is on, and the service may use its API
    finally:
        await service.close()
    errors = await stranger_refusal(url)
    assert any("authorization violation" in e for e in errors), errors
