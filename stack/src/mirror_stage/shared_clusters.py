"""PostgreSQL clusters kept outside their data dir, tied to it.

As root, PostgreSQL runs as the `mirror-stage` account; when that account cannot enter a data
dir, the cluster lives under the shared root instead (mirror_stage.postgres). Each such cluster
has an owner record beside it, in the root-owned shared root (never inside the cluster, which
the account controls): the data dir's path, device and inode. So it goes with its data dir:

- `mirror-stage purge DIR` removes both;
- every `mirror-stage up` removes a cluster whose data dir has been gone (the path does not
  exist while its parent does) for MISSING_GRACE across two looks. A data dir that exists,
  even as another directory (restored from a backup, moved), is never taken as gone; nor is
  one that cannot be looked at (another error than "no such file"). A cluster whose
  postmaster runs, or without a record (made before records), is left alone.
"""

import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec
import structlog

log = structlog.get_logger()

CLUSTER_PREFIX: Final = "data-"
OWNER_SUFFIX: Final = ".owner.json"
MISSING_GRACE: Final = timedelta(hours=1)
_PID_FILE_BYTES: Final = 64


class PurgeError(RuntimeError):
    """The data dir cannot be purged (it is in use, or is not a data dir)."""


class ClusterOwner(msgspec.Struct, frozen=True, kw_only=True):
    """The data dir a shared cluster belongs to."""

    data_dir: str
    device: int
    inode: int
    # When a sweep first found the data dir gone; None while it is there.
    missing_since: datetime | None = None


def owner_path(cluster: Path) -> Path:
    """The cluster's owner record, beside it in the shared root."""
    return cluster.with_name(cluster.name + OWNER_SUFFIX)


def _write_owner(cluster: Path, owner: ClusterOwner) -> None:
    record = owner_path(cluster)
    staging = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(msgspec.json.encode(owner))
    staging.replace(record)


def claim(cluster: Path, data_dir: Path) -> None:
    """Record `data_dir` (which exists) as the owner of `cluster`."""
    info = data_dir.stat()
    _write_owner(
        cluster, ClusterOwner(data_dir=str(data_dir), device=info.st_dev, inode=info.st_ino)
    )


def owner_of(cluster: Path) -> ClusterOwner | None:
    """The cluster's owner record; None without a readable one."""
    try:
        return msgspec.json.decode(owner_path(cluster).read_bytes(), type=ClusterOwner)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def process_alive(pid_file: Path) -> bool:
    """Whether the process whose pid is the first line of `pid_file` is alive. The file may
    be another account's (PostgreSQL's): read without following a link or blocking on a
    FIFO, a regular file's first bytes alone."""
    try:
        fd = os.open(pid_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        pid = int(os.read(fd, _PID_FILE_BYTES).split(b"\n", 1)[0])
    except (OSError, ValueError):
        return False
    finally:
        os.close(fd)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def postmaster_running(pgdata: Path) -> bool:
    """Whether the postmaster named by `pgdata`'s postmaster.pid is alive."""
    return process_alive(pgdata / "postmaster.pid")


def _gone(owner: ClusterOwner) -> bool | None:
    """True when the data dir's path does not exist while its parent does; False when it
    exists (as whatever directory); None when that cannot be told."""
    path = Path(owner.data_dir)
    try:
        path.stat()
    except FileNotFoundError:
        return path.parent.is_dir()
    except OSError:
        return None
    return False


def sweep_orphans(shared_root: Path, now: datetime | None = None) -> list[Path]:
    """Remove the clusters under `shared_root` whose data dir is gone (MISSING_GRACE past
    the first look that found it gone); return those removed."""
    now = now or datetime.now(UTC)
    removed = []
    clusters = sorted(shared_root.glob(f"{CLUSTER_PREFIX}*")) if shared_root.is_dir() else []
    for record in (c for c in clusters if c.name.endswith(OWNER_SUFFIX)):
        # A record whose cluster went (removed by hand, or by an older purge) goes too.
        if not record.with_name(record.name.removesuffix(OWNER_SUFFIX)).exists():
            record.unlink(missing_ok=True)
    for cluster in clusters:
        if cluster.name.endswith(OWNER_SUFFIX) or not cluster.is_dir() or cluster.is_symlink():
            continue
        owner = owner_of(cluster)
        if owner is None or postmaster_running(cluster / "data"):
            continue
        gone = _gone(owner)
        if not gone:
            if gone is False and owner.missing_since is not None:
                _write_owner(cluster, msgspec.structs.replace(owner, missing_since=None))
            continue
        if owner.missing_since is None:
            _write_owner(cluster, msgspec.structs.replace(owner, missing_since=now))
            continue
        if now - owner.missing_since < MISSING_GRACE:
            continue
        shutil.rmtree(cluster, ignore_errors=True)
        if cluster.exists():
            log.warning("postgres.orphan_not_removed", cluster=str(cluster))
            continue
        owner_path(cluster).unlink(missing_ok=True)
        log.info("postgres.orphan_removed", cluster=str(cluster), data_dir=owner.data_dir)
        removed.append(cluster)
    return removed


def remove_cluster(cluster: Path) -> None:
    """Remove a shared cluster and its owner record (the cluster's data dir is the caller's)."""
    shutil.rmtree(cluster, ignore_errors=True)
    owner_path(cluster).unlink(missing_ok=True)


def clusters_of(data_dir: Path, shared_root: Path) -> list[Path]:
    """The shared clusters whose owner record names `data_dir` (as it is now)."""
    info = data_dir.stat()
    found = []
    clusters = sorted(shared_root.glob(f"{CLUSTER_PREFIX}*")) if shared_root.is_dir() else []
    for cluster in clusters:
        if cluster.name.endswith(OWNER_SUFFIX):
            continue
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
    if not (data_dir / "identities" / "registry.json").is_file():
        raise PurgeError(
            f"{data_dir} holds no identities/registry.json: not a MIRROR STAGE data dir, left as is"
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
        remove_cluster(cluster)
    shutil.rmtree(data_dir)
    return [*clusters, data_dir]
