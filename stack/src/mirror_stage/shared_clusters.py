"""PostgreSQL clusters kept outside their data dir, tied to it.

As root, PostgreSQL runs as the `mirror-stage` account; when that account cannot enter a data
dir, the cluster lives under the shared root instead (mirror_stage.postgres). Each such cluster
holds an owner record naming its data dir (path, device and inode), so that it goes with it:
`mirror-stage purge DIR` removes both, and every `mirror-stage up` removes the clusters whose
data dir is gone (or was replaced by another directory at the same path). A cluster whose
postmaster runs is never removed; one without a record (made before records) is left alone.
"""

import os
import shutil
from pathlib import Path
from typing import Final

import msgspec
import structlog

log = structlog.get_logger()

OWNER_FILE: Final = "owner.json"
CLUSTER_PREFIX: Final = "data-"


class PurgeError(RuntimeError):
    """The data dir cannot be purged (it is in use, or is not a data dir)."""


class ClusterOwner(msgspec.Struct, frozen=True, kw_only=True):
    """The data dir a shared cluster belongs to."""

    data_dir: str
    device: int
    inode: int


def claim(cluster: Path, data_dir: Path) -> None:
    """Record `data_dir` as the owner of `cluster` (both exist)."""
    info = data_dir.stat()
    owner = ClusterOwner(data_dir=str(data_dir), device=info.st_dev, inode=info.st_ino)
    record = cluster / OWNER_FILE
    staging = record.with_suffix(f".{os.getpid()}.tmp")
    staging.write_bytes(msgspec.json.encode(owner))
    staging.chmod(0o644)
    staging.replace(record)


def owner_of(cluster: Path) -> ClusterOwner | None:
    """The cluster's owner record; None without a readable one."""
    try:
        return msgspec.json.decode((cluster / OWNER_FILE).read_bytes(), type=ClusterOwner)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def postmaster_running(pgdata: Path) -> bool:
    """Whether the postmaster named by `pgdata`'s postmaster.pid is alive."""
    return process_alive(pgdata / "postmaster.pid")


def process_alive(pid_file: Path) -> bool:
    """Whether the process whose pid is the first line of `pid_file` is alive."""
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: ClusterOwner) -> bool:
    """Whether the owner's data dir no longer exists (or another directory took its path)."""
    try:
        info = Path(owner.data_dir).stat()
    except FileNotFoundError:
        return True
    return (info.st_dev, info.st_ino) != (owner.device, owner.inode)


def sweep_orphans(shared_root: Path) -> list[Path]:
    """Remove the clusters under `shared_root` whose data dir is gone; return them."""
    removed = []
    clusters = sorted(shared_root.glob(f"{CLUSTER_PREFIX}*")) if shared_root.is_dir() else []
    for cluster in clusters:
        owner = owner_of(cluster)
        if owner is None or not owner_gone(owner) or postmaster_running(cluster / "data"):
            continue
        shutil.rmtree(cluster, ignore_errors=True)
        log.info("postgres.orphan_removed", cluster=str(cluster), data_dir=owner.data_dir)
        removed.append(cluster)
    return removed


def clusters_of(data_dir: Path, shared_root: Path) -> list[Path]:
    """The shared clusters whose owner record names `data_dir` (as it is now)."""
    info = data_dir.stat()
    found = []
    clusters = sorted(shared_root.glob(f"{CLUSTER_PREFIX}*")) if shared_root.is_dir() else []
    for cluster in clusters:
        owner = owner_of(cluster)
        if owner is not None and (owner.device, owner.inode) == (info.st_dev, info.st_ino):
            found.append(cluster)
    return found


def purge(data_dir: Path, shared_root: Path) -> list[Path]:
    """Remove `data_dir` and every shared cluster it owns; return what was removed.

    Refused while the stack in it runs, and for a directory that is no stack's data dir.
    """
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise PurgeError(f"{data_dir} is not a directory")
    if not (data_dir / "identities").is_dir() and not (data_dir / "postgres.location").exists():
        raise PurgeError(
            f"{data_dir} holds no `identities` folder: not a MIRROR STAGE data dir, left as is"
        )
    clusters = clusters_of(data_dir, shared_root)
    pid_files = [
        *data_dir.glob("nats*.pid"),
        data_dir / "postgres" / "data" / "postmaster.pid",
        *(cluster / "data" / "postmaster.pid" for cluster in clusters),
    ]
    for pid_file in pid_files:
        if process_alive(pid_file):
            raise PurgeError(f"the stack in {data_dir} is running ({pid_file}): stop it first")
    for cluster in clusters:
        shutil.rmtree(cluster)
    shutil.rmtree(data_dir)
    return [*clusters, data_dir]
