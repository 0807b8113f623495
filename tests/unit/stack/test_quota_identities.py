"""The simulator's identity (samples of any host) exists only while a simulator runs; every log
file the launcher writes is its owner's alone (issue 17, item 7)."""

import sys
from pathlib import Path

from mirror_stage.child_processes import spawn
from mirror_stage.enrollment import ensure_stack_identities, export_users
from mirror_stage.identity_store import IdentityStore
from mirror_stage.parts import SIMULATOR
from mirror_stage.stack_layout import stack_layout


def _names(store: IdentityStore) -> set[str]:
    return {identity.name for identity, _ in store.users()}


def test_the_simulator_is_provisioned_only_when_one_runs(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "identities")
    ensure_stack_identities(store)
    assert SIMULATOR not in _names(store)
    assert not store.seed_path(SIMULATOR).exists()
    ensure_stack_identities(store, simulator=True)  # `mirror-stage up --simulate N`
    assert SIMULATOR in _names(store)
    assert store.seed_path(SIMULATOR).stat().st_mode & 0o777 == 0o600
    ensure_stack_identities(store)  # the next start without --simulate takes it away
    assert SIMULATOR not in _names(store)
    assert not store.seed_path(SIMULATOR).exists()


def test_the_exported_users_have_no_simulator(tmp_path: Path) -> None:
    layout = stack_layout({}, data_dir=tmp_path)
    output = tmp_path / "users.conf"
    assert export_users(layout, output) == 0
    assert IdentityStore(layout.identities_dir).seed_path(SIMULATOR).exists() is False
    text = output.read_text()
    assert "_SIMULATOR" not in text


async def test_a_log_file_is_created_private_and_an_old_one_narrowed(tmp_path: Path) -> None:
    fresh = tmp_path / "logs" / "fresh.log"
    old = tmp_path / "logs" / "old.log"
    old.parent.mkdir()
    old.write_text("from an earlier run\n")
    old.chmod(0o644)
    for path in (fresh, old):
        process = await spawn([sys.executable, "-c", "print('hello')"], log_path=path)
        assert await process.wait() == 0
        assert path.stat().st_mode & 0o777 == 0o600, path
        assert path.read_text().endswith("hello\n")
    assert old.read_text().startswith("from an earlier run\n")
