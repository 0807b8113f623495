"""`mirror-stage compose-init`: each container's files with the narrowest modes, the same
password at every run, and an enrolled agent in the users block after the next run."""

import json
import os
import stat
from pathlib import Path

import pytest

from mirror_stage.compose_init import DATABASE_SERVICES, NATS_DATA, SERVICES, Owner, compose_init
from mirror_stage.identity_store import IdentityStore
from mirror_stage.stack_layout import StackLayout, stack_layout

ME = Owner(os.getuid(), os.getgid())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def layout(tmp_path: Path) -> StackLayout:
    return stack_layout({}, data_dir=tmp_path / "state", log_format="json")


def test_each_container_gets_its_own_files_and_no_more(layout: StackLayout, tmp_path: Path) -> None:
    export = tmp_path / "export"
    compose_init(layout, export, ME)
    assert mode(export / "nats" / "users.conf") == 0o644  # public keys only
    assert mode(export / "postgres" / "password") == 0o600
    for service in SERVICES:
        seed = export / service / "nats.nk"
        assert mode(seed) == 0o400
        assert seed.stat().st_uid == ME.uid
        expected = IdentityStore(layout.identities_dir).seed_path(service).read_text()
        assert seed.read_text() == expected
        pgpass = export / service / "pgpass"
        assert pgpass.exists() == (service in DATABASE_SERVICES)
        if service in DATABASE_SERVICES:  # its own role's, never the superuser's
            assert mode(pgpass) == 0o600
            *_, user, password = pgpass.read_text().strip().split(":")
            assert user == f"mirror_{service}"
            assert password != (export / "postgres" / "password").read_text().strip()
    # What the migrate step needs to make the roles: the superuser's and every role's
    # password, readable by the services' user alone (the migrate container runs as it).
    roles = export / "database"
    assert sorted(p.name for p in roles.iterdir()) == sorted(
        ["admin.pgpass", *(f"mirror_{part}.pgpass" for part in ("owner", *DATABASE_SERVICES))]
    )
    for file in roles.iterdir():
        assert mode(file) == 0o600
        assert file.stat().st_uid == ME.uid
    superuser = (export / "postgres" / "password").read_text().strip()
    assert (roles / "admin.pgpass").read_text() == f"postgres:5432:*:mirror:{superuser}\n"
    assert sorted(p.name for p in (export / "twin").iterdir()) == ["nats.nk"]
    tokens = json.loads((export / "ingest" / "ingest-tokens.json").read_text())
    assert tokens == {"tokens": []}  # no agent may post over HTTP until one is enrolled
    assert not (export / "admin").exists()  # the admin's seed never leaves the state volume


def test_a_second_run_keeps_the_passwords_and_adds_an_enrolled_agent(
    layout: StackLayout, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    compose_init(layout, export, ME)
    password = (export / "postgres" / "password").read_text()
    roles = {path.name: path.read_text() for path in (export / "database").iterdir()}
    ingest = (export / "ingest" / "pgpass").read_text()
    store = IdentityStore(layout.identities_dir)
    store.enroll_agent("web-01")
    store.new_ingest_token("web-01")
    compose_init(layout, export, ME)
    assert (export / "postgres" / "password").read_text() == password
    assert {path.name: path.read_text() for path in (export / "database").iterdir()} == roles
    assert (export / "ingest" / "pgpass").read_text() == ingest
    public_key = next(i.public_key for i, _ in store.users() if i.name == "agent-web-01")
    assert public_key in (export / "nats" / "users.conf").read_text()
    tokens = json.loads((export / "ingest" / "ingest-tokens.json").read_text())
    assert [entry["host_id"] for entry in tokens["tokens"]] == ["web-01"]


def test_streams_kept_from_before_accounts_are_handed_to_stage(
    layout: StackLayout, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    old = export / NATS_DATA / "jetstream" / "$G" / "streams" / "METRICS"
    old.mkdir(parents=True)
    compose_init(layout, export, ME)
    assert (export / NATS_DATA / "jetstream" / "STAGE" / "streams" / "METRICS").is_dir()
    assert not old.exists()
    compose_init(layout, export, ME)  # nothing left to move: a second run changes nothing
    assert (export / NATS_DATA / "jetstream" / "STAGE" / "streams" / "METRICS").is_dir()


@pytest.mark.parametrize(
    ("text", "owner"), [("10001:10002", Owner(10001, 10002)), ("10001", Owner(10001, 10001))]
)
def test_the_owner_is_a_uid_and_gid(text: str, owner: Owner) -> None:
    assert Owner.parse(text) == owner


@pytest.mark.parametrize("text", ["mirror", "10001:", ":10001", "-1"])
def test_an_owner_that_is_not_numbers_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="UID or UID:GID"):
        Owner.parse(text)
