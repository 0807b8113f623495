"""IdentityStore: identities made once and kept, seeds private, agents enrolled and revoked."""

from pathlib import Path

import pytest

from mirror_ingest.tokens import TokenTable
from mirror_stage.enrollment import add_or_remove_automation
from mirror_stage.identity_store import ADMIN, IdentityStore, agent_name, automation_name
from mirror_stage.stack_layout import stack_layout


def test_an_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "identities")
    first = store.ensure(ADMIN, "admin")
    again = IdentityStore(tmp_path / "identities").ensure(ADMIN, "admin")
    assert again == first
    assert store.seed_path(ADMIN).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "identities").stat().st_mode & 0o777 == 0o700


def test_agents_are_enrolled_confined_and_revoked(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path)
    store.ensure("twin", "service")
    path = store.enroll_agent("web-01")
    assert path == store.seed_path(agent_name("web-01"))
    assert store.agents() == ["web-01"]
    permissions = {identity.name: p for identity, p in store.users()}
    assert ">" not in permissions["twin"].publish  # a service has its own narrower set
    assert "commands.dispatch.>" not in permissions["twin"].publish
    assert permissions["twin"].deny_publish  # no deleting streams
    assert "metrics.raw.web-01" in permissions[agent_name("web-01")].publish
    assert ">" not in permissions[agent_name("web-01")].publish
    token = store.new_ingest_token("web-01")
    tokens = TokenTable(store.ingest_tokens_path)
    assert tokens.host_for(token) == "web-01"
    assert store.revoke(agent_name("web-01"))
    assert not path.exists()
    assert TokenTable(store.ingest_tokens_path).host_for(token) is None
    assert store.agents() == []
    assert not store.revoke(agent_name("web-01"))


def test_automation_users_get_the_request_endpoints_only(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path)
    store.ensure(automation_name("ci"), "automation")
    ((identity, permissions),) = list(store.users())
    assert identity.name == "automation-ci"
    # Every request subject names the script itself: the server vouches for who asked.
    assert "commands.request.automation-ci" in permissions.publish
    assert "alerts.api.rules.create.automation-ci" in permissions.publish
    assert all(subject.endswith(".automation-ci") for subject in permissions.publish)
    assert not any("*" in subject or ">" in subject for subject in permissions.publish)
    assert permissions.subscribe == ("_AUTOMATION.ci.>",)


def test_the_cli_adds_and_removes_a_script_and_rewrites_the_servers_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = stack_layout({}, data_dir=tmp_path)
    assert add_or_remove_automation(layout, "add", "ci") == 0
    store = IdentityStore(layout.identities_dir)
    public_key = next(identity.public_key for identity, _ in store.users())
    config = layout.nats_users_path.read_text()
    assert public_key in config
    assert "not running" in capsys.readouterr().out
    assert add_or_remove_automation(layout, "remove", "ci") == 0
    assert public_key not in layout.nats_users_path.read_text()
    assert add_or_remove_automation(layout, "remove", "ci") == 1
    assert add_or_remove_automation(layout, "add", "Not Valid") == 2
