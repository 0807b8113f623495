"""`mirror-agent --once` and `--check` as an operator runs them."""

import asyncio
from pathlib import Path

import nats
from agent_helpers import mirror_agent

from loopback_ports import free_port
from mirror_schema import codec, streams
from servers import NatsServer


def test_once_prints_one_valid_sample() -> None:
    """--once prints a single MetricSample as JSON and exits 0."""
    result = mirror_agent("--once")
    assert result.returncode == 0, result.stderr
    sample = codec.decode_sample(result.stdout.strip().encode())
    assert sample.seq == 1
    assert sample.host_id
    assert (sample.memory_total_bytes or 0) > 0


def test_check_passes_against_a_live_bus(nats_server: NatsServer, tmp_path: Path) -> None:
    """--check connects, finds the METRICS stream, and exits 0."""
    config = tmp_path / "agent.toml"
    config.write_text(f'nats_url = "{nats_server.url}"\nbuffer_dir = "{tmp_path / "buffer"}"\n')

    async def ensure() -> None:
        nc = await nats.connect(nats_server.url)
        await streams.ensure_streams(nc.jetstream())
        await nc.close()

    asyncio.run(ensure())
    result = mirror_agent("--check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   JetStream: metrics.raw." in result.stdout
    assert not (tmp_path / "buffer").exists()  # a check changes nothing


def test_check_names_what_is_wrong(tmp_path: Path) -> None:
    """With nothing listening, --check fails quickly and names the NATS URL."""
    url = f"nats://127.0.0.1:{free_port()}"
    config = tmp_path / "agent.toml"
    config.write_text(f'nats_url = "{url}"\n')
    result = mirror_agent("--check", "--config", str(config))
    assert result.returncode == 1
    assert f"FAIL NATS: cannot connect to {url}" in result.stderr


def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A bad key ends with one line naming it, and exit code 2."""
    config = tmp_path / "agent.toml"
    config.write_text('transport = "http"\n')
    result = mirror_agent("--config", str(config))
    assert result.returncode == 2
    assert "ingest_url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
