"""PartSpecs for the services, the local agent and the simulator of the embedded stack."""

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
import nats
import nats.errors
import nats.js.errors

from mirror_schema import identities, streams, subjects
from mirror_schema.nats_credentials import credential_options, server_urls
from mirror_stage.healthcheck import unverified_context
from mirror_stage.identity_store import INGEST_TOKENS
from mirror_stage.natsd import ignore_error
from mirror_stage.stack_layout import StackLayout
from mirror_stage.supervisor import PartSpec

SIMULATOR = "simulator"  # the simulator's identity name

SERVICES: Mapping[str, str] = {
    "TWIN": "mirror_twin",
    "INGEST": "mirror_ingest",
    "ALERTS": "mirror_alerts",
    "COMMANDS": "mirror_commands",
}


def child_environment(layout: StackLayout) -> dict[str, str]:
    """The environment every child gets: ours (so a service's own MIRROR_STAGE_* settings, such
    as the ingest's limits, reach it), with the stack's addresses and ports on top. No database:
    each service holding it gets its own role's address (service_spec), nobody else any."""
    env = dict(os.environ)
    env.pop("MIRROR_STAGE_DATA_DIR", None)  # the launcher's alone
    env.pop("MIRROR_STAGE_DB_URL", None)  # an external database's administrator: ours alone
    env["MIRROR_STAGE_NATS_URL"] = layout.nats_urls
    env["MIRROR_STAGE_LOG_FORMAT"] = layout.log_format
    for part, port in layout.service_ports.items():
        env[f"MIRROR_STAGE_{part}_PORT"] = str(port)
    return env


# Made once: a client made with its own context spends most of its making on it, and a part
# starting is probed ten times a second.
_LOOPBACK_TLS: Final = unverified_context()


async def http_health_ok(url: str) -> bool:
    """Whether GET `url` answers 200. The launcher probes its own children on loopback, whose
    certificate (when they serve HTTPS) it has no reason to doubt: it is not checked."""
    async with httpx.AsyncClient(timeout=1.0, verify=_LOOPBACK_TLS) as client:
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def service_spec(
    layout: StackLayout,
    part: str,
    env: Mapping[str, str],
    *,
    replica: int = 1,
    port: int | None = None,
    db_url: str | None = None,
) -> PartSpec:
    """One service as `python -m mirror_<part>`, on the bus as its own identity (and on the
    database as its own role at `db_url`), healthy when /api/health answers 200. Replica 2,
    3... serve HTTP on `port` (the first on the layout's) and share the first one's durable
    consumers and queue groups."""
    env = {
        **env,
        "MIRROR_STAGE_NATS_CREDENTIALS_FILE": str(layout.identities_dir / f"{part.lower()}.nk"),
    }
    if db_url is not None:
        env["MIRROR_STAGE_DB_URL"] = db_url
    if part == "INGEST":
        # Agents posting over HTTP need the token `mirror-stage agent enroll` printed.
        env["MIRROR_STAGE_INGEST_TOKENS_FILE"] = str(layout.identities_dir / INGEST_TOKENS)
    address = layout.service_url(part)
    if port is not None:
        env[f"MIRROR_STAGE_{part}_PORT"] = str(port)
        address = address.rsplit(":", 1)[0] + f":{port}"
    name = part.lower() if replica == 1 else f"{part.lower()}-{replica}"
    health = f"{address}/api/health"

    async def probe() -> bool:
        return await http_health_ok(health)

    return PartSpec(
        name=name,
        argv=[sys.executable, "-m", SERVICES[part]],
        env=env,
        log_path=layout.logs_dir / f"{name}.log",
        probe=probe,
        address=address,
    )


async def has_published(layout: StackLayout, host_id: str) -> bool:
    """Whether METRICS holds a sample of `host_id`: proof that an agent is up and publishing."""
    nc = await nats.connect(
        server_urls(layout.nats_urls),
        connect_timeout=1,
        allow_reconnect=False,
        error_cb=ignore_error,
        **credential_options(layout.admin_credentials, layout.tls_ca_file),
    )
    try:
        await nc.jetstream().get_last_msg(streams.METRICS.name, subjects.metrics_raw(host_id))
    except (nats.js.errors.NotFoundError, nats.errors.Error):
        return False
    finally:
        await nc.close()
    return True


def agent_spec(
    layout: StackLayout, config_path: Path, host_id: str, env: Mapping[str, str]
) -> PartSpec:
    """The local REFLECTOR agent, healthy once its first sample is in the METRICS stream."""

    async def probe() -> bool:
        return await has_published(layout, host_id)

    return PartSpec(
        name="agent",
        argv=[sys.executable, "-m", "mirror_agent", "--config", str(config_path)],
        env=env,
        log_path=layout.logs_dir / "agent.log",
        probe=probe,
        address=f"publishing as {host_id}",
    )


async def enroller_answers(layout: StackLayout) -> bool:
    """Whether the enroller answers a join request: the admin's, with no body (refused
    without an audit, since no join token has the probe's id), answered under the
    enroller's own inbox, the only inbox in STAGE it may answer to."""
    nc = await nats.connect(
        server_urls(layout.nats_urls),
        connect_timeout=1,
        allow_reconnect=False,
        error_cb=ignore_error,
        inbox_prefix=f"{identities.inbox_prefix(identities.ENROLLER)}.probe",
        **credential_options(layout.admin_credentials, layout.tls_ca_file),
    )
    try:
        await nc.request(subjects.agents_join("healthprobe"), b"", timeout=1)
    except nats.errors.Error:
        return False
    finally:
        await nc.close()
    return True


def enroller_spec(layout: StackLayout, env: Mapping[str, str], signing_public_key: str) -> PartSpec:
    """The answerer of agents' join requests (mirror_stage.enroller), healthy once it answers."""

    async def probe() -> bool:
        return await enroller_answers(layout)

    return PartSpec(
        name="enroller",
        argv=[
            sys.executable,
            "-m",
            "mirror_stage.enroller",
            "--data-dir",
            str(layout.data_dir),
            "--signing-public-key",
            signing_public_key,
        ],
        env=env,
        log_path=layout.logs_dir / "enroller.log",
        probe=probe,
        address=f"join requests on {subjects.AGENTS_JOIN_ALL}",
    )


def simulator_spec(
    layout: StackLayout, hosts: int, interval: float, env: Mapping[str, str]
) -> PartSpec:
    """N simulated hosts, each sending a sample every `interval` seconds, healthy once the
    last of them has published."""
    from mirror_agent.simulated_fleet import simulated_host_id

    last_host = simulated_host_id(hosts - 1)

    async def probe() -> bool:
        return await has_published(layout, last_host)

    return PartSpec(
        name="simulator",
        argv=[
            sys.executable,
            "-m",
            "mirror_agent",
            "simulate",
            "--nats-url",
            layout.nats_urls,
            "--hosts",
            str(hosts),
            "--interval",
            str(interval),
            "--credentials-file",
            str(layout.identities_dir / f"{SIMULATOR}.nk"),
            *(["--tls-ca-file", layout.tls_ca_file] if layout.tls_ca_file else []),
        ],
        env=env,
        log_path=layout.logs_dir / "simulator.log",
        probe=probe,
        address=f"{hosts} simulated hosts",
    )
