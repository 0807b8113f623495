"""NATS identities: NKey users, and an agent's permissions confined to its own host."""

import json
import re

import nkeys
import pytest

from mirror_stage.nats_identities import (
    admin_permissions,
    agent_permissions,
    authorization_block,
    new_identity,
    service_permissions,
    simulator_permissions,
)


def test_a_new_identity_is_an_nkey_user_whose_seed_gives_its_public_key() -> None:
    identity = new_identity("agent-web-01")
    assert identity.seed.startswith("SU")
    assert identity.public_key.startswith("U")
    pair = nkeys.from_seed(bytearray(identity.seed.encode()))
    assert pair.public_key.decode() == identity.public_key
    assert new_identity("again").public_key != identity.public_key


def test_an_agents_permissions_name_only_its_own_host() -> None:
    """No wildcard reaches past the host: every subject either names web-01 (or its consumer)
    or is one of the two read-only JetStream calls."""
    permissions = agent_permissions("web-01")
    shared = {"$JS.API.STREAM.NAMES", "$JS.API.INFO"}
    for subject in (*permissions.publish, *permissions.subscribe):
        assert subject in shared or re.search(r"(^|\.)(agent-)?web-01(\.|$)", subject), subject
        assert subject not in {">", "*"}
    assert "commands.dispatch.web-01" not in permissions.publish  # only the service dispatches
    assert permissions.subscribe == ("_INBOX.web-01.>", "commands.cancel.web-01")
    create = [s for s in permissions.publish if ".CONSUMER.CREATE." in s]
    assert create == ["$JS.API.CONSUMER.CREATE.COMMANDS.agent-web-01.commands.dispatch.web-01"]


def test_the_authorization_block_lists_each_user_with_its_allow_lists() -> None:
    admin, agent = new_identity("admin"), new_identity("agent-web-01")
    block = authorization_block(
        [(admin, admin_permissions()), (agent, agent_permissions("web-01"))]
    )
    assert block.startswith("authorization {")
    entries = [
        json.loads(line.strip().rstrip(",")) for line in block.splitlines() if "nkey" in line
    ]
    assert [e["nkey"] for e in entries] == [admin.public_key, agent.public_key]
    assert entries[0]["permissions"]["publish"]["allow"] == [">"]
    # No one may answer to a reply subject of the requester's choosing.
    assert all("allow_responses" not in entry["permissions"] for entry in entries)
    assert entries[1]["permissions"]["subscribe"]["allow"] == [
        "_INBOX.web-01.>",
        "commands.cancel.web-01",
    ]


def test_the_simulator_publishes_samples_and_reads_its_own_replies_only() -> None:
    permissions = simulator_permissions()
    assert permissions.publish == ("metrics.raw.>", "$JS.API.INFO")
    assert permissions.subscribe == ("_SIMULATOR.>",)


@pytest.mark.parametrize("service", ["twin", "ingest", "alerts", "commands"])
def test_no_service_may_change_a_stream_or_take_all_of_the_jetstream_api(service: str) -> None:
    """Each JetStream call a service may make is named; none may update, purge or delete a
    stream, delete a message, or answer anywhere but the inboxes of those who may ask it."""
    permissions = service_permissions(service)
    for subject in permissions.publish:
        assert not subject.startswith(("$JS.API.>", ">", "$JS.API.STREAM.>")), subject
        if subject.startswith("$JS.API."):
            assert ">" not in subject or subject.startswith(
                ("$JS.API.CONSUMER.CREATE.", "$JS.API.DIRECT.GET.KV_")
            ), subject
        for forbidden in ("STREAM.UPDATE", "STREAM.PURGE", "STREAM.DELETE", "MSG.DELETE"):
            assert forbidden not in subject, subject
        assert not subject.startswith("_INBOX"), subject  # agents' inboxes
    for denied in ("$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.DELETE.>"):
        assert denied in permissions.deny_publish


def test_only_alerts_may_delete_a_consumer_and_only_its_own() -> None:
    deletes = {
        service: [s for s in service_permissions(service).publish if ".CONSUMER.DELETE." in s]
        for service in ("twin", "ingest", "alerts", "commands")
    }
    assert deletes == {
        "twin": [],
        "ingest": [],
        "alerts": ["$JS.API.CONSUMER.DELETE.METRICS.alerts"],
        "commands": [],
    }
