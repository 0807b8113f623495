"""IdentityStore: identities made once and kept, seeds private, agents enrolled and revoked."""

from pathlib import Path

from mirror_ingest.tokens import TokenTable
from mirror_stage.identity_store import ADMIN, IdentityStore, agent_name


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
    assert permissions["twin"].publish == (">",)
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
