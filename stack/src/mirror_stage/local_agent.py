"""The stack's own agent: its config, and the commands service's key it trusts."""

from pathlib import Path

import httpx

from mirror_stage.stack_errors import StackError
from mirror_stage.stack_layout import StackLayout

__all__ = ["signing_public_key", "write_agent_config"]


def write_agent_config(
    layout: StackLayout, host_id: str, signing_public_key: str, credentials: Path
) -> Path:
    """The local agent's TOML config, rewritten at every start: on the bus as its enrolled
    identity, it takes the default allowlist's commands, signed by this stack's commands
    service."""
    path = layout.data_dir / "agent.toml"
    trust = f'tls_ca_file = "{layout.tls_ca_file}"\n' if layout.tls_ca_file else ""
    path.write_text(
        "# Written by mirror-stage up at every start; edit a copy for a real host.\n"
        f'nats_url = "{layout.nats_urls}"\n'
        f'credentials_file = "{credentials}"\n' + trust + f'host_id = "{host_id}"\n'
        "interval_seconds = 5\n"
        f'buffer_dir = "{layout.data_dir / "agent-buffer"}"\n'
        "\n[commands]\n"
        f'signing_public_key = "{signing_public_key}"\n'
    )
    return path


async def signing_public_key(commands_url: str) -> str:
    """The commands service's public key (it answers its health check already)."""
    async with httpx.AsyncClient(timeout=10.0, verify=False) as client:  # noqa: S501 - loopback child
        answer = await client.get(f"{commands_url}/api/commands/signing-key")
    if answer.status_code != 200:
        raise StackError(
            f"the commands service did not give its signing key ({answer.status_code}): "
            f"{answer.text[:200]}"
        )
    key: str = answer.json()["public_key"]
    return key
