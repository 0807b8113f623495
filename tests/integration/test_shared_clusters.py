"""PostgreSQL clusters kept outside their data dir go with it: an owner record ties each to
its data dir, `mirror-stage purge DIR` removes both, and `up` sweeps the clusters whose data
dir is gone. A cluster whose postmaster runs, or that has no record, is never touched."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from mirror_stage.postgres import claim_postgres_root, postgres_account
from mirror_stage.shared_clusters import (
    ClusterOwner,
    PurgeError,
    claim,
    owner_of,
    owner_path,
    postmaster_running,
    purge,
    sweep_orphans,
)


@pytest.fixture
def alive_pid() -> Iterator[int]:
    """The pid of a process that runs while the test does."""
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


def data_dir_at(path: Path) -> Path:
    """A directory that looks like a stack's data dir."""
    (path / "identities").mkdir(parents=True)
    (path / "identities" / "registry.json").write_text("{}")
    return path


def cluster_of(shared: Path, name: str, data_dir: Path | None) -> Path:
    """A cluster under `shared`, claimed by `data_dir` (None: made before owner records)."""
    cluster = shared / f"data-{name}"
    (cluster / "data").mkdir(parents=True)
    if data_dir is not None:
        claim(cluster, data_dir)
    return cluster


def test_a_cluster_outside_its_data_dir_records_its_owner(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data_dir = data_dir_at(private / "stage")
    shared = tmp_path / "shared"
    root = claim_postgres_root(data_dir, postgres_account(), shared_root=shared)
    if os.geteuid() != 0:  # PostgreSQL runs as this user, who can enter the data dir
        assert root == data_dir.resolve() / "postgres"
        return
    assert root.parent == shared
    owner = owner_of(root)
    assert owner is not None
    assert owner.data_dir == str(data_dir.resolve())
    assert (owner.device, owner.inode) == (data_dir.stat().st_dev, data_dir.stat().st_ino)
    assert (
        f"mirror-stage purge {data_dir.resolve()}" in (data_dir / "postgres.location").read_text()
    )


def test_the_sweep_removes_only_clusters_whose_data_dir_stays_gone(
    tmp_path: Path, alive_pid: int
) -> None:
    """Gone means the path does not exist (its parent does), at two looks an hour apart. A
    data dir that exists as another directory (restored, moved) is never gone; nor is a
    cluster whose postmaster runs, or one without a record."""
    shared = tmp_path / "shared"
    kept_dir = data_dir_at(tmp_path / "kept")
    gone_dir = data_dir_at(tmp_path / "gone")
    replaced_dir = data_dir_at(tmp_path / "replaced")
    running_dir = data_dir_at(tmp_path / "running")
    back_dir = data_dir_at(tmp_path / "back")
    kept = cluster_of(shared, "kept", kept_dir)
    gone = cluster_of(shared, "gone", gone_dir)
    replaced = cluster_of(shared, "replaced", replaced_dir)
    running = cluster_of(shared, "running", running_dir)
    back = cluster_of(shared, "back", back_dir)
    unrecorded = cluster_of(shared, "unrecorded", None)
    (running / "data" / "postmaster.pid").write_text(f"{alive_pid}\n/somewhere\n")
    for directory in (gone_dir, replaced_dir, running_dir, back_dir):
        subprocess.run(["rm", "-r", str(directory)], check=True)
    data_dir_at(replaced_dir)  # another directory at the same path: restored from a backup

    first = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert sweep_orphans(shared, now=first) == []  # gone at the first look: noted only
    data_dir_at(back_dir)  # an unmounted disk, mounted again
    assert sweep_orphans(shared, now=first + timedelta(minutes=30)) == []
    assert sweep_orphans(shared, now=first + timedelta(hours=2)) == [gone]
    clusters = {path.name for path in shared.iterdir() if path.is_dir()}
    assert clusters == {c.name for c in (kept, replaced, running, back, unrecorded)}
    assert not owner_path(gone).exists()
    assert sweep_orphans(tmp_path / "nothing-here") == []


def test_nothing_inside_a_cluster_is_written_or_followed_by_root(tmp_path: Path) -> None:
    """The cluster belongs to the account PostgreSQL runs as: its record is beside it, and a
    FIFO or a link planted as postmaster.pid neither blocks nor misleads."""
    shared = tmp_path / "shared"
    data_dir = data_dir_at(tmp_path / "stage")
    cluster = cluster_of(shared, "own", data_dir)
    target = tmp_path / "precious"
    target.write_text("keep me")
    (cluster / "data" / "owner.json.1.tmp").symlink_to(target)
    claim(cluster, data_dir)
    assert target.read_text() == "keep me"
    assert owner_path(cluster).parent == shared
    os.mkfifo(cluster / "data" / "postmaster.pid")
    assert postmaster_running(cluster / "data") is False  # did not wait on the FIFO


def test_purge_removes_the_data_dir_and_its_clusters_only(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    data_dir = data_dir_at(tmp_path / "stage")
    other_dir = data_dir_at(tmp_path / "other")
    own = cluster_of(shared, "own", data_dir)
    other = cluster_of(shared, "other", other_dir)
    assert purge(data_dir, shared) == [own, data_dir.resolve()]
    assert not data_dir.exists()
    assert not own.exists()
    assert other.exists()
    assert other_dir.exists()


def test_purge_refuses_a_running_stack_and_a_directory_that_is_no_data_dir(
    tmp_path: Path, alive_pid: int
) -> None:
    shared = tmp_path / "shared"
    data_dir = data_dir_at(tmp_path / "stage")
    cluster = cluster_of(shared, "own", data_dir)
    (data_dir / "nats.pid").write_text(f"{alive_pid}")
    with pytest.raises(PurgeError, match="is running"):
        purge(data_dir, shared)
    (data_dir / "nats.pid").unlink()
    (cluster / "data" / "postmaster.pid").write_text(f"{alive_pid}\n")
    with pytest.raises(PurgeError, match="is running"):
        purge(data_dir, shared)
    assert data_dir.exists()
    assert cluster.exists()

    home = tmp_path / "home"
    (home / "documents").mkdir(parents=True)
    with pytest.raises(PurgeError, match=r"no identities/registry\.json"):
        purge(home, shared)
    assert (home / "documents").exists()


def test_the_command_says_what_it_removed_and_why_it_refused(tmp_path: Path) -> None:
    data_dir = data_dir_at(tmp_path / "stage")
    (data_dir / "postgres" / "data").mkdir(parents=True)

    def purge_command(target: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mirror_stage", "purge", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = purge_command(data_dir)
    assert done.returncode == 0, done.stderr
    assert f"removed {data_dir.resolve()}" in done.stdout
    assert not data_dir.exists()
    refused = purge_command(tmp_path / "missing")
    assert refused.returncode == 1
    assert "is not a directory" in refused.stderr


def test_an_owner_record_is_plain_json() -> None:
    """Readable by a person deciding what a cluster under /var/lib/mirror-stage is."""
    record = msgspec.json.encode(ClusterOwner(data_dir="/srv/stage", device=1, inode=2))
    assert msgspec.json.decode(record) == {
        "data_dir": "/srv/stage",
        "device": 1,
        "inode": 2,
        "missing_since": None,
    }


def test_a_record_whose_cluster_is_gone_goes_too(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    data_dir = data_dir_at(tmp_path / "stage")
    cluster = cluster_of(shared, "own", data_dir)
    subprocess.run(["rm", "-r", str(cluster)], check=True)  # removed by hand
    assert owner_path(cluster).exists()
    sweep_orphans(shared)
    assert not owner_path(cluster).exists()
