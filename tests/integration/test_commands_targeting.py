"""Commands reach the host they name: a hostname resolves to the host id derived from it (the
identity NATS vouches for), never to whatever hostname a sample claims; tags and racks come
from the operator's registry, never from the agent's own sample."""

from commands_helpers import Stack


async def test_a_hostname_claimed_in_another_hosts_samples_does_not_capture_its_commands(
    stack: Stack,
) -> None:
    """Agent `tgt-a` publishes samples claiming hostname `tgt-b` (host b's name). A command
    aimed at hostname `TGT-B` goes to host id `tgt-b` only; `tgt-a` never gets it. Before b has
    published, the name is unknown rather than a's."""
    intruder = await stack.agent("tgt-a")
    await stack.sample("tgt-a", hostname="tgt-b")
    await stack.known("tgt-a")
    answer = await stack.http.post("/api/commands", json={"hostname": "TGT-B", "command": "x"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("hostname: no known host 'TGT-B'")

    victim = await stack.agent("tgt-b")
    await stack.sample("tgt-b", hostname="tgt-b")
    await stack.sample("tgt-a", hostname="tgt-b")  # a's claim is the latest one
    await stack.known("tgt-b")
    (created,) = await stack.create(hostname="TGT-B", command="uptime")
    assert created["host_id"] == "tgt-b"
    (command,) = await victim.wait_for(1)
    assert command.id == created["id"]
    (aimed,) = await stack.create(targets=["tgt-b"], command="uptime")
    assert aimed["host_id"] == "tgt-b"
    await victim.wait_for(2)
    assert intruder.received == []
