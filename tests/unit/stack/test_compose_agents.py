"""`mirror-stage agent enroll|revoke HOST --export DIR`, as run in compose's init service: the
agent is told the address given, the exports are refreshed, and nats's reload is explained
(no local server to signal is not "the stack is not running").

(Called as functions: `main()` would configure logging for the whole test process.)
"""

import os
from pathlib import Path

import pytest

from mirror_stage.compose_agents import run_compose_agent
from mirror_stage.compose_init import Owner, compose_init
from mirror_stage.identity_store import IdentityStore
from mirror_stage.stack_layout import StackLayout, stack_layout

ME = f"{os.getuid()}:{os.getgid()}"
ADVERTISED = "nats://stage.example.com:4222"


@pytest.fixture
def layout(tmp_path: Path) -> StackLayout:
    return stack_layout({}, data_dir=tmp_path / "state", log_format="json")


@pytest.fixture
def export(layout: StackLayout, tmp_path: Path) -> Path:
    """What the init service made at `up`."""
    compose_init(layout, tmp_path / "export", Owner.parse(ME))
    return tmp_path / "export"


def agent_key(layout: StackLayout) -> str:
    store = IdentityStore(layout.identities_dir)
    return next(i.public_key for i, _ in store.users() if i.name == "agent-web-01")


def test_enroll_tells_the_advertised_address_and_refreshes_the_exports(
    layout: StackLayout, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_compose_agent(layout, "enroll", "web-01", export, ME, ADVERTISED) == 0
    said = capsys.readouterr().out
    assert f'  nats_url = "{ADVERTISED}"' in said
    assert "not running" not in said
    assert "kill -s HUP nats" in said
    seed = IdentityStore(layout.identities_dir).seed_path("agent-web-01")
    assert f"run --rm --no-deps init cat {seed}" in said
    assert agent_key(layout) in (export / "nats" / "users.conf").read_text()
    assert "web-01" in (export / "ingest" / "ingest-tokens.json").read_text()


def test_revoke_takes_the_agent_out_of_the_exported_users(
    layout: StackLayout, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_compose_agent(layout, "enroll", "web-01", export, ME, ADVERTISED) == 0
    key = agent_key(layout)
    assert run_compose_agent(layout, "revoke", "web-01", export, ME, None) == 0
    assert "removed enrolled agent web-01" in capsys.readouterr().out
    assert key not in (export / "nats" / "users.conf").read_text()


def test_without_the_init_services_exports_it_says_where_to_run(
    layout: StackLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-export"
    assert run_compose_agent(layout, "enroll", "web-01", missing, ME, ADVERTISED) == 2
    assert f"--export {missing} is no directory" in capsys.readouterr().err
    assert not IdentityStore(layout.identities_dir).seed_path("agent-web-01").exists()


def test_a_bad_owner_is_named(
    layout: StackLayout, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_compose_agent(layout, "enroll", "web-01", export, "mirror", ADVERTISED) == 2
    assert "--owner 'mirror'" in capsys.readouterr().err
