"""The stack's database roles: an owner that migrates, and one login role per service.

Run with an administrator's connection (the embedded cluster's superuser, compose's
POSTGRES_USER, or an external server's admin with CREATEROLE), `prepare_database`:

1. makes (or updates) the roles, none a superuser nor able to make roles or databases,
   member of no other role (so none of pg_execute_server_program, pg_read_server_files...);
   each role's password is made once and kept in DIR/<role>.pgpass (0600, pgpass format);
2. lets the owner create in the database and its schema, takes CREATE and TEMPORARY on them
   away from PUBLIC, and hands the owner the tables an earlier release made as the admin;
3. applies every component's migrations as the owner;
4. grants each service's role exactly its components' `GRANTS`, nothing else (what it had
   beyond is revoked), in one transaction.

Services then connect with postgresql://<role>@host/db?passfile=DIR/<role>.pgpass.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import structlog

from mirror_alerts import migrations as alerts_migrations
from mirror_commands import migrations as commands_migrations
from mirror_ingest import migrations as history_migrations
from mirror_runtime.auth import migrations as auth_migrations
from mirror_runtime.migrations import VERSION_GRANTS, Grants
from mirror_runtime.pg import Conn
from mirror_stage.operators import first_admin_line
from mirror_stage.private_files import write_private
from mirror_stage.stack_layout import StackLayout

log = structlog.get_logger()

DEFAULT_PREFIX: Final = "mirror_"
OWNER: Final = "owner"
SERVICE_ROLES: Final = ("ingest", "alerts", "commands")

# Each service's role and the components whose objects it uses.
SERVICE_GRANTS: Final[Mapping[str, Sequence[Grants]]] = {
    "ingest": (VERSION_GRANTS, auth_migrations.GRANTS, history_migrations.GRANTS),
    "alerts": (VERSION_GRANTS, auth_migrations.GRANTS, alerts_migrations.GRANTS),
    "commands": (VERSION_GRANTS, auth_migrations.GRANTS, commands_migrations.GRANTS),
}
# Database-level privileges beyond CONNECT: the ingest stages its batches in temp tables.
TEMPORARY_TABLES: Final = frozenset({"ingest"})

# Every component's migrations, in the order the services depend on them.
MIGRATE: Final[Sequence[Callable[[asyncpg.Pool], Awaitable[list[int]]]]] = (
    auth_migrations.migrate_auth,
    history_migrations.migrate,
    alerts_migrations.migrate,
    commands_migrations.migrate,
)

_NAME_RE: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PASSWORD_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,}")
# Partitions of the partitioned tables are the history's too: adopted with their parents.
_PARTITION_RE: Final = re.compile(r"(metric_samples|metric_rollup_1m)_p\d{8}")


class DatabaseSetupError(RuntimeError):
    """The roles or the schema could not be set up with the connection given."""


@dataclass(frozen=True)
class PreparedDatabase:
    """The roles' names (by part: OWNER and each service) and the URLs each connects with."""

    roles: Mapping[str, str]
    owner_url: str
    service_urls: Mapping[str, str]


def role_names(prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """{"owner": "mirror_owner", "ingest": "mirror_ingest", ...}."""
    names = {part: f"{prefix}{part}" for part in (OWNER, *SERVICE_ROLES)}
    for name in names.values():
        if not _NAME_RE.fullmatch(name):
            raise DatabaseSetupError(f"role name {name!r} must match {_NAME_RE.pattern}")
    return names


def passfile_path(directory: Path, role: str) -> Path:
    """Where `role`'s password is kept, as a pgpass file."""
    return directory / f"{role}.pgpass"


def read_password(path: Path) -> str | None:
    """The password of the pgpass file at `path`, or None when there is none yet."""
    try:
        line = path.read_text().strip()
    except FileNotFoundError:
        return None
    password = line.split(":", 4)[-1] if line.count(":") >= 4 else ""
    return password or None


def ensure_passwords(directory: Path, roles: Sequence[str]) -> dict[str, str]:
    """Each role's password: read from DIR/<role>.pgpass, else made there (0600)."""
    passwords = {}
    for role in roles:
        path = passfile_path(directory, role)
        password = read_password(path)
        if password is None:
            password = secrets.token_urlsafe(24)
            write_private(path, pgpass_line("*", "*", role, password))
        if not _PASSWORD_RE.fullmatch(password):
            raise DatabaseSetupError(f"{path}: the password must match {_PASSWORD_RE.pattern}")
        passwords[role] = password
    return passwords


def pgpass_line(host: str, port: str, role: str, password: str) -> str:
    """One pgpass line for `role` at host:port, any database."""
    return f"{host}:{port}:*:{role}:{password}\n"


def role_url(admin_url: str, role: str, passfile: Path) -> str:
    """`admin_url` with `role` as its user and its password read from `passfile`."""
    parts = urlsplit(admin_url)
    hosts = parts.netloc.rpartition("@")[2]
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("passfile", "password")]
    query.append(("passfile", str(passfile)))
    return urlunsplit((parts.scheme, f"{role}@{hosts}", parts.path, urlencode(query), ""))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _ensure_role(conn: Conn, role: str, password: str) -> None:
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    verb = "ALTER" if exists else "CREATE"
    # The password is [A-Za-z0-9_-]: quoted as a literal, it cannot end the statement.
    await conn.execute(f"{verb} ROLE {_ident(role)} {attributes} PASSWORD '{password}'")
    # Member of nothing: no pg_execute_server_program, pg_read_server_files... through a group.
    for granted in await conn.fetch(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "WHERE m.member = $1::regrole",
        role,
    ):
        await conn.execute(f"REVOKE {_ident(granted['rolname'])} FROM {_ident(role)}")


async def _prepare_roles(
    admin: Conn, roles: Mapping[str, str], passwords: Mapping[str, str]
) -> str:
    """As the administrator: the roles, the owner's rights, PUBLIC's taken away; the schema."""
    allowed = await admin.fetchrow(
        "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    )
    if allowed is None or not (allowed["rolsuper"] or allowed["rolcreaterole"]):
        raise DatabaseSetupError(
            "the database URL's user may not create roles: give mirror-stage an administrator "
            "(a superuser, or a role WITH CREATEROLE that owns the database) to set it up"
        )
    database = await admin.fetchval("SELECT current_database()")
    schema = await admin.fetchval("SELECT current_schema()")
    if schema is None:
        raise DatabaseSetupError("the administrator's search_path names no schema to use")
    owner = roles[OWNER]
    for role in roles.values():
        await _ensure_role(admin, role, passwords[role])
    await admin.execute(f"REVOKE CREATE, TEMPORARY ON DATABASE {_ident(database)} FROM PUBLIC")
    await admin.execute(
        f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {_ident(database)} TO {_ident(owner)}"
    )
    await admin.execute(f"REVOKE CREATE ON SCHEMA {_ident(schema)} FROM PUBLIC")
    await admin.execute(f"GRANT USAGE, CREATE ON SCHEMA {_ident(schema)} TO {_ident(owner)}")
    await _adopt(admin, schema, owner)
    return str(schema)


def _ours() -> set[str]:
    """The tables the migrations make (by name, in the stack's schema)."""
    return {name for grants in SERVICE_GRANTS.values() for g in grants for name in g.tables}


async def _adopt(admin: Conn, schema: str, owner: str) -> None:
    """Tables of ours an earlier release made as the administrator become the owner's (their
    indexes and serial sequences with them), so that it may migrate and grant them."""
    rows = await admin.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relowner <> $2::regrole",
        schema,
        owner,
    )
    ours = _ours()
    for row in rows:
        name = row["relname"]
        if name in ours or _PARTITION_RE.fullmatch(name):
            await admin.execute(
                f"ALTER TABLE {_ident(schema)}.{_ident(name)} OWNER TO {_ident(owner)}"
            )
            log.info("database.table_adopted", table=name, owner=owner)
    for function in ("history_create_day(date)", "history_drop_day(date)"):
        if await admin.fetchval(
            "SELECT proowner <> $2::regrole FROM pg_proc WHERE oid = to_regprocedure($1)",
            f"{_ident(schema)}.{function}",
            owner,
        ):
            await admin.execute(
                f"ALTER FUNCTION {_ident(schema)}.{function} OWNER TO {_ident(owner)}"
            )


async def _grant(owner: Conn, schema: str, role: str, grants: Sequence[Grants]) -> None:
    """As the owner, in one transaction: everything `role` had in the schema revoked, then
    exactly `grants` given (so a privilege a release dropped is gone after its upgrade)."""
    s, r = _ident(schema), _ident(role)
    async with owner.transaction():
        # What the owner owns (another's tables in the schema are not its to revoke).
        for kind, relkinds in (("TABLE", ["r", "p", "v", "m", "f"]), ("SEQUENCE", ["S"])):
            names = await owner.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND c.relowner = current_user::regrole "
                "AND c.relkind::text = ANY($2::text[])",
                schema,
                relkinds,
            )
            if names:
                listed = ", ".join(f"{s}.{_ident(row['relname'])}" for row in names)
                await owner.execute(f"REVOKE ALL ON {kind} {listed} FROM {r}")
        functions = await owner.fetch(
            "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = $1 AND p.proowner = current_user::regrole",
            schema,
        )
        if functions:
            listed = ", ".join(row["signature"] for row in functions)
            await owner.execute(f"REVOKE ALL ON FUNCTION {listed} FROM {r}")
        await owner.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
        for grant in grants:
            for table, privileges in grant.tables.items():
                listed = ", ".join(sorted(privileges))
                await owner.execute(f"GRANT {listed} ON TABLE {s}.{_ident(table)} TO {r}")
            for serial in grant.sequences:
                table, _, column = serial.partition(".")
                sequence = await owner.fetchval(
                    "SELECT pg_get_serial_sequence($1, $2)", f"{s}.{_ident(table)}", column
                )
                if sequence is None:
                    raise DatabaseSetupError(f"{serial} has no sequence to grant")
                await owner.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {r}")
            for function in grant.functions:
                await owner.execute(f"GRANT EXECUTE ON FUNCTION {s}.{function} TO {r}")


async def _grant_database(admin: Conn, database: str, role: str, temporary: bool) -> None:
    d, r = _ident(database), _ident(role)
    await admin.execute(f"GRANT CONNECT ON DATABASE {d} TO {r}")
    if temporary:
        await admin.execute(f"GRANT TEMPORARY ON DATABASE {d} TO {r}")
    else:
        await admin.execute(f"REVOKE TEMPORARY ON DATABASE {d} FROM {r}")


async def prepare_database(
    admin_url: str, passwords_dir: Path, *, prefix: str = DEFAULT_PREFIX
) -> PreparedDatabase:
    """Set up the roles, migrate as the owner, grant each service its own; idempotent."""
    roles = role_names(prefix)
    passwords = ensure_passwords(passwords_dir, list(roles.values()))
    urls = {
        part: role_url(admin_url, role, passfile_path(passwords_dir, role))
        for part, role in roles.items()
    }
    try:
        admin = await asyncpg.connect(admin_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseSetupError(f"the database does not answer: {exc}") from None
    try:
        database = str(await admin.fetchval("SELECT current_database()"))
        schema = await _prepare_roles(admin, roles, passwords)
        for part, role in roles.items():
            if part != OWNER:
                await _grant_database(admin, database, role, part in TEMPORARY_TABLES)
    except asyncpg.PostgresError as exc:
        raise DatabaseSetupError(f"setting up the database's roles failed: {exc}") from None
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(urls[OWNER], min_size=1, max_size=2, timeout=10)
    try:
        for migrate in MIGRATE:
            await migrate(pool)
        async with pool.acquire() as owner:
            for part in SERVICE_ROLES:
                await _grant(owner, schema, roles[part], SERVICE_GRANTS[part])
    finally:
        await pool.close()
    log.info("database.prepared", roles=sorted(roles.values()), schema=schema)
    return PreparedDatabase(
        roles=roles,
        owner_url=urls[OWNER],
        service_urls={part: urls[part] for part in SERVICE_ROLES},
    )


def database_passwords_dir(layout: StackLayout) -> Path:
    """Where the stack keeps its roles' pgpass files (beside its database's address)."""
    return layout.data_dir / "database"


async def wait_for_database(url: str, seconds: float) -> None:
    """Return once `url` takes a login, trying for at most `seconds`: a server started beside
    this command (compose starts them together) refuses connections, or logins, for a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if loop.time() >= deadline:
                raise DatabaseSetupError(
                    f"the database took no login within {seconds:g} s: {exc}"
                ) from None
            log.info("database.waiting", error=str(exc))
            await asyncio.sleep(1)
        else:
            await connection.close()
            return


async def _migrate(
    admin_url: str, directory: Path, wait_seconds: float, first_admin: bool
) -> tuple[PreparedDatabase, str | None]:
    """Wait for the database, prepare it; with `first_admin`, make the first admin when there
    is no user yet: what `mirror-stage up` says about logins."""
    if wait_seconds > 0:
        await wait_for_database(admin_url, wait_seconds)
    prepared = await prepare_database(admin_url, directory)
    logins = await first_admin_line(prepared.owner_url) if first_admin else None
    return prepared, logins


def run_migrate_command(
    layout: StackLayout,
    passwords: Path | None,
    *,
    wait_seconds: float = 0,
    first_admin: bool = False,
) -> int:
    """`mirror-stage db migrate`: set up the roles and the schema of MIRROR_STAGE_DB_URL (an
    administrator's address); the exit code. What each service then connects with is printed:
    addresses without a secret, the passwords being in their files; with `first_admin`, the
    first admin's one-time password too, once (compose's only way to tell it)."""
    if layout.external_db_url is None:
        print(  # noqa: T201 - the command's output
            "mirror-stage db migrate: set MIRROR_STAGE_DB_URL to an administrator's address "
            "of the database (mirror-stage up does this itself for its embedded one)",
            file=sys.stderr,
        )
        return 2
    directory = passwords or database_passwords_dir(layout)
    try:
        prepared, logins = asyncio.run(
            _migrate(layout.external_db_url, directory, wait_seconds, first_admin)
        )
    except (DatabaseSetupError, OSError, asyncpg.PostgresError) as exc:
        print(f"mirror-stage db migrate: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"roles ready, passwords in {directory}:")  # noqa: T201
    print(f"  {'owner':<10} {prepared.owner_url}")  # noqa: T201
    for part, url in prepared.service_urls.items():
        print(f"  {part:<10} {url}")  # noqa: T201
    if logins is not None:
        print(logins)  # noqa: T201
    return 0
