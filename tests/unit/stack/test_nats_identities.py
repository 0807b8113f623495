"""NATS identities: NKey users, and an agent's permissions confined to its own host."""

import json
import re
from typing import Any

import nkeys
import pytest

from mirror_schema import subjects
from mirror_schema.forwarded import FORWARDED
from mirror_schema.identities import request_subject
from mirror_stage.nats_accounts import AGENT_MAX_CONNECTIONS, accounts_block, agent_permissions
from mirror_stage.nats_identities import (
    admin_permissions,
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
    or is one of the read-only JetStream calls, or a reply the server routes."""
    permissions = agent_permissions("web-01")
    shared = {"STAGE.JS.API.STREAM.NAMES", "$JS.API.INFO", "_R_.>"}
    for subject in (*permissions.publish, *permissions.subscribe):
        assert subject in shared or re.search(r"(^|\.)(agent-)?web-01(\.|$)", subject), subject
        assert subject not in {">", "*"}
    assert "commands.dispatch.web-01" not in permissions.publish  # only the service dispatches
    assert permissions.subscribe == ("_INBOX.web-01.>", "commands.cancel.web-01")
    create = [s for s in permissions.publish if ".CONSUMER.CREATE." in s]
    assert create == ["STAGE.JS.API.CONSUMER.CREATE.COMMANDS.agent-web-01.commands.dispatch.web-01"]
    assert permissions.own_account == "web-01"


def _accounts(block: str) -> dict[str, Any]:
    assert block.startswith("accounts {")
    parsed: dict[str, Any] = json.loads(block.removeprefix("accounts "))
    return parsed


def test_every_agent_is_alone_in_an_account_with_its_connections_capped() -> None:
    admin, web, db = new_identity("admin"), new_identity("agent-web-01"), new_identity("agent-db")
    accounts = _accounts(
        accounts_block(
            [
                (admin, admin_permissions()),
                (web, agent_permissions("web-01")),
                (db, agent_permissions("db")),
            ]
        )
    )
    assert set(accounts) == {"STAGE", "JOIN", "AGENT_web-01", "AGENT_db"}
    assert accounts["JOIN"]["users"] == []  # no join token: nobody can join
    stage = accounts["STAGE"]
    assert stage["jetstream"] == "enabled"
    assert [user["nkey"] for user in stage["users"]] == [admin.public_key]
    agent = accounts["AGENT_web-01"]
    assert [user["nkey"] for user in agent["users"]] == [web.public_key]
    assert agent["limits"]["max_connections"] == AGENT_MAX_CONNECTIONS
    assert "jetstream" not in agent  # its streams are STAGE's, reached through imports alone
    # Everything STAGE exports names the one account it is for; each import names its host.
    for export in stage["exports"]:
        if export["service"] == "$JS.API.STREAM.NAMES":  # read-only: which stream holds what
            assert export["accounts"] == ["AGENT_web-01", "AGENT_db"]
            continue
        if export["service"] == "agents.join.*":  # join requests, from the JOIN account alone
            assert export["accounts"] == ["JOIN"]
            continue
        (account,) = export["accounts"]
        host = account.removeprefix("AGENT_")
        assert re.search(rf"(^|\.)(agent-)?{host}(\.|$)", export["service"]), export
    exported = [export["service"] for export in stage["exports"]]
    assert len(exported) == len(set(exported))  # a second export of a subject replaces the first
    imported = {entry["service"]["subject"] for entry in agent["imports"]}
    assert "metrics.raw.web-01" in imported
    assert not any("db" in subject.split(".") for subject in imported)
    assert agent["exports"] == [{"service": "commands.cancel.web-01", "accounts": ["STAGE"]}]
    assert {"service": {"account": "AGENT_db", "subject": "commands.cancel.db"}} in stage["imports"]
    # No one may answer to a reply subject of the requester's choosing.
    users = [*stage["users"], *agent["users"]]
    assert all("allow_responses" not in user["permissions"] for user in users)


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


def test_the_twin_may_send_exactly_the_requests_it_forwards() -> None:
    """Each operation the twin forwards for the HUD is a subject its permissions let it send
    in its own name; no other service's API is reachable through it (beyond the logins it
    checks for itself)."""
    forwarded = {
        request_subject(operation.subject, "twin")
        for operation in FORWARDED
        if operation.subject is not None
    }
    publish = set(service_permissions("twin").publish)
    assert forwarded <= publish
    logins = {
        request_subject(subject, "twin")
        for subject in (
            subjects.AUTH_API_LOGIN,
            subjects.AUTH_API_AUTHENTICATE,
            subjects.AUTH_API_LOGOUT,
            subjects.AUTH_API_PASSWORD,
        )
    }
    assert logins <= publish
    apis = {s for s in publish if re.match(r"^(commands|alerts|metrics|auth)\.(api|request)", s)}
    assert apis - logins == forwarded
