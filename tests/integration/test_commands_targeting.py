"""Commands reach the host they name: a hostname resolves to the host id derived from it (the
identity NATS vouches for), never to whatever hostname a sample claims; tags and racks come
from the operator's registry, never from the agent's own sample."""

import msgspec
from commands_helpers import Stack

from callers import as_admin
from mirror_schema import subjects


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


async def test_a_selector_uses_the_operators_labels_never_the_tags_a_sample_claims(
    stack: Stack,
) -> None:
    """`lbl-claim`'s samples claim role=web in rack r1: a selector never picks it. Labels set by
    the operator (HTTP PUT, or NATS commands.api.labels.set) decide; a PUT replaces them, a
    DELETE removes them; a labelled host that never published can be targeted (it waits)."""
    claimer = await stack.agent("lbl-claim")
    for host in ("lbl-claim", "lbl-web", "lbl-nats"):
        await stack.sample(host, tags={"role": "web"} if host == "lbl-claim" else {}, rack="r1")
    for host in ("lbl-claim", "lbl-web", "lbl-nats"):
        await stack.known(host)
    web = {"selector": {"tags": {"role": "web"}}, "command": "uptime"}
    answer = await stack.http.post("/api/commands", json=web)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("selector: no host is labelled with tags")

    put = await stack.http.put(
        "/api/commands/hosts/lbl-web/labels", json={"tags": {"role": "web"}, "rack": "r1"}
    )
    assert put.status_code == 200, put.text
    assert (put.json()["host_id"], put.json()["tags"], put.json()["rack"]) == (
        "lbl-web",
        {"role": "web"},
        "r1",
    )
    reply = msgspec.json.decode(
        (
            await stack.nc.request(
                as_admin(subjects.COMMANDS_API_LABELS_SET),
                msgspec.json.encode({"host_id": "lbl-nats", "tags": {"role": "web"}}),
            )
        ).data
    )
    assert reply["result"]["tags"] == {"role": "web"}, reply
    created = await stack.create(**web)
    assert sorted(c["host_id"] for c in created) == ["lbl-nats", "lbl-web"]
    (in_rack,) = await stack.create(selector={"rack": "r1"}, command="uptime")
    assert in_rack["host_id"] == "lbl-web"

    hosts = {h["host_id"]: h for h in (await stack.http.get("/api/commands/hosts")).json()["hosts"]}
    assert (hosts["lbl-web"]["tags"], hosts["lbl-web"]["rack"]) == ({"role": "web"}, "r1")
    assert (hosts["lbl-claim"]["tags"], hosts["lbl-claim"]["rack"]) == ({}, None)
    assert hosts["lbl-claim"]["reported_tags"] == {"role": "web"}

    replaced = await stack.http.put("/api/commands/hosts/lbl-web/labels", json={"tags": {}})
    assert (replaced.json()["tags"], replaced.json()["rack"]) == ({}, None)
    gone = await stack.http.delete("/api/commands/hosts/lbl-nats/labels")
    assert gone.status_code == 200, gone.text
    answer = await stack.http.post("/api/commands", json=web)
    assert answer.status_code == 422, answer.text
    listed = msgspec.json.decode(
        (await stack.nc.request(as_admin(subjects.COMMANDS_API_LABELS_LIST), b"")).data
    )
    assert [(h["host_id"], h["tags"]) for h in listed["result"]["items"]] == [("lbl-web", {})]

    later = await stack.http.put(
        "/api/commands/hosts/lbl-later/labels", json={"tags": {"role": "spare"}}
    )
    assert later.status_code == 200, later.text
    (waiting,) = await stack.create(selector={"tags": {"role": "spare"}}, command="uptime")
    assert (waiting["host_id"], waiting["status"]) == ("lbl-later", "pending")
    (named,) = await stack.create(hostname="LBL-LATER", command="uptime")
    assert named["host_id"] == "lbl-later"
    assert claimer.received == []

    bad = await stack.http.put("/api/commands/hosts/Not.A.Host/labels", json={"tags": {}})
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"].startswith("host_id: ")
    bad = await stack.http.put("/api/commands/hosts/lbl-web/labels", json={"tags": {"": "x"}})
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"].startswith("tags")
