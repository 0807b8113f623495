"""The nats-server the stack runs: JetStream forced to disk on the interval we set."""

from pathlib import Path

import httpx
import pytest

from loopback_ports import free_port
from mirror_stage.natsd import DEFAULT_SYNC_INTERVAL, nats_spec
from mirror_stage.supervisor import Supervised


@pytest.mark.parametrize(
    ("sync_interval", "expected"),
    [
        (DEFAULT_SYNC_INTERVAL, {"sync_always": True}),
        ("100ms", {"sync_interval": 100_000_000}),  # nanoseconds
    ],
)
async def test_the_server_syncs_jetstream_as_configured(
    tmp_path: Path, sync_interval: str, expected: dict[str, object]
) -> None:
    """What nats-server itself reports in /varz, not what we wrote in its config file."""
    monitor = free_port()
    part = Supervised(
        nats_spec(
            host="127.0.0.1",
            port=free_port(),
            store_dir=tmp_path / "jetstream",
            log_path=tmp_path / "nats.log",
            sync_interval=sync_interval,
            monitor_port=monitor,
        )
    )
    await part.start()
    try:
        async with httpx.AsyncClient() as http:
            varz = (await http.get(f"http://127.0.0.1:{monitor}/varz")).json()
    finally:
        await part.stop()
    config = varz["jetstream"]["config"]
    assert {key: config.get(key) for key in expected} == expected
    assert config["store_dir"].startswith(str(tmp_path / "jetstream"))
