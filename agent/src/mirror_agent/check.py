"""`mirror-agent --check`: is the config usable, and can this host reach the bus?"""

import asyncio
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import nats
import nats.errors
import nats.js.errors

from mirror_agent.agent import identity
from mirror_agent.config import AgentConfig
from mirror_agent.jetstream import agent_jetstream
from mirror_agent.nats_auth import connect_options, inbox_prefix
from mirror_schema import streams, subjects
from mirror_schema.nats_credentials import server_urls


def report(ok: bool, what: str, detail: str) -> bool:
    """Print one line of the check and return `ok`."""
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}", file=sys.stdout if ok else sys.stderr)
    return ok


async def check_nats(config: AgentConfig, host_id: str) -> bool:
    """Connect, reach JetStream, and find the stream that stores this host's samples."""
    try:
        nc = await nats.connect(
            server_urls(config.nats_url),
            connect_timeout=5,
            # One try: without these, nats-py retries the first connection 60 times.
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=_quiet,
            **connect_options(config.credentials_file, inbox_prefix(host_id), config.tls_ca_file),
        )
    except (OSError, nats.errors.Error, TimeoutError) as exc:
        return report(
            False, "NATS", f"cannot connect to {config.nats_url}: {exc or type(exc).__name__}"
        )
    try:
        report(True, "NATS", f"connected to {config.nats_url}")
        subject = subjects.metrics_raw(host_id)
        try:
            js = await agent_jetstream(nc)
            stream = await js.find_stream_name_by_subject(subject)
        except nats.js.errors.NotFoundError:
            return report(
                False,
                "JetStream",
                f"no stream stores {subject}; start the services (they create "
                f"{streams.METRICS.name}) or run mirror-stage up",
            )
        except (nats.errors.Error, TimeoutError) as exc:
            return report(False, "JetStream", f"not available: {exc or type(exc).__name__}")
        return report(True, "JetStream", f"{subject} is stored in stream {stream}")
    finally:
        await nc.close()


async def _quiet(exc: Exception) -> None:
    """Connection errors are reported once, by check_nats, not as tracebacks."""


def check_http(config: AgentConfig) -> bool:
    """GET the ingest's /api/health."""
    assert config.ingest_url is not None
    url = config.ingest_url.rstrip("/") + "/api/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - validated http(s)
            return report(True, "ingest", f"{url} answered {response.status}")
    except urllib.error.HTTPError as exc:
        return report(False, "ingest", f"{url} answered {exc.code}")
    except (OSError, urllib.error.URLError) as exc:
        return report(False, "ingest", f"{url} is unreachable: {exc}")


def check_buffer(config: AgentConfig) -> bool:
    """The buffer directory exists or can be made, and is writable; nothing is created."""
    if config.buffer_dir is None:
        return report(True, "buffer", "in memory (set buffer_dir to keep samples across restarts)")
    path = Path(config.buffer_dir)
    # The agent creates the directory: the nearest one that exists must let it.
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return report(False, "buffer", f"{existing} is not a directory this user can write to")
    state = "exists" if existing == path else f"will be created in {existing}"
    return report(True, "buffer", f"{path} ({state}), capped at {config.buffer_max_bytes} bytes")


async def check(config: AgentConfig) -> int:
    """Run every check; 0 when all pass, 1 otherwise."""
    host_id, hostname = identity(config)
    report(
        True, "config", f"host id {host_id!r} (hostname {hostname!r}), transport {config.transport}"
    )
    results = [check_buffer(config)]
    if config.transport == "http":
        results.append(await asyncio.to_thread(check_http, config))
    else:
        results.append(await check_nats(config, host_id))
    return 0 if all(results) else 1
