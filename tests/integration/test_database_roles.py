"""One PostgreSQL role per service, least privilege (issue 17, item 3): the stack's setup makes
an owner role that migrates and a login role per service holding the database, each granted
exactly the statements its service runs. Every probe connects as a service's own role and
tries to get through: the signing key's seed, a `commands` row (a command for every host),
another service's tables, a schema change, an OS command through `COPY ... TO PROGRAM`."""

import asyncio
import os
import re
import stat
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import pytest_asyncio

from mirror_alerts.migrations import migrate as migrate_alerts
from mirror_commands import migrations as commands_migrations
from mirror_commands.migrations import migrate as migrate_commands
from mirror_ingest.migrations import migrate as migrate_history
from mirror_ingest.writing import partitions
from mirror_runtime.auth.migrations import migrate_auth
from mirror_runtime.migrations import Migration, MigrationError, migrate
from mirror_stage.database import SERVICE_ROLES, PreparedDatabase, prepare_database, role_names

# What each service must never reach: every table of the others.
OTHERS = {
    "ingest": ("alerts", "alert_rules", "silences", "commands", "command_events", "signing_key"),
    "alerts": ("hosts", "metric_samples", "metric_rollup_1m", "commands", "signing_key"),
    "commands": ("hosts", "metric_samples", "alerts", "alert_rules", "evaluator_snapshot"),
}
OWN = {"ingest": "hosts", "alerts": "alert_rules", "commands": "commands"}


async def drop_roles(database: str, prepared: PreparedDatabase) -> None:
    """The roles are the cluster's, not the test database's: remove them with what they hold."""
    admin = await asyncpg.connect(database)
    try:
        names = ", ".join(f'"{role}"' for role in prepared.roles.values())
        await admin.execute(f'REASSIGN OWNED BY "{prepared.roles["owner"]}" TO CURRENT_USER')
        await admin.execute(f"DROP OWNED BY {names}")
        await admin.execute(f"DROP ROLE {names}")
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def prepared(database: str, tmp_path: Path, unique: str) -> AsyncIterator[PreparedDatabase]:
    """A fresh database set up as `mirror-stage up` sets up its own, roles named for this test."""
    result = await prepare_database(database, tmp_path / "roles", prefix=f"t{unique}_")
    yield result
    await drop_roles(database, result)


async def connect_as(prepared: PreparedDatabase, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(prepared.service_urls[service])


@pytest.mark.parametrize("service", ["ingest", "alerts"])
async def test_ingest_and_alerts_may_not_read_the_signing_key_nor_queue_a_command(
    prepared: PreparedDatabase, service: str
) -> None:
    conn = await connect_as(prepared, service)
    try:
        assert await conn.fetchval("SELECT current_user") == prepared.roles[service]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT seed FROM signing_key")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO commands (id, host_id, hostname, command, status, priority, "
                "timeout_seconds, created_at, expires_at, requested_by) VALUES ('c1', 'h', 'h', "
                "'rm -rf /', 'pending', 5, 10, now(), now() + interval '1 h', 'attacker')"
            )
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICE_ROLES)
async def test_a_service_reads_its_own_tables_and_none_of_the_others(
    prepared: PreparedDatabase, service: str
) -> None:
    conn = await connect_as(prepared, service)
    try:
        await conn.fetch(f"SELECT * FROM {OWN[service]} LIMIT 1")
        await conn.fetch("SELECT name FROM auth_users LIMIT 1")  # every one answers auth.api.*
        for table in OTHERS[service]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
    finally:
        await conn.close()


@pytest.mark.parametrize("service", ["commands"])
async def test_the_commands_role_alone_reads_and_makes_the_signing_key(
    prepared: PreparedDatabase, service: str
) -> None:
    conn = await connect_as(prepared, service)
    try:
        from mirror_commands.signing_key import load_or_create

        key = await load_or_create(conn, datetime.now(UTC))
        assert (await load_or_create(conn, datetime.now(UTC))).seed == key.seed
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE signing_key SET seed = 'x'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM signing_key")
    finally:
        await conn.close()


@pytest.mark.parametrize("part", [*SERVICE_ROLES, "owner"])
async def test_no_role_may_run_a_program_or_read_the_server_files(
    prepared: PreparedDatabase, part: str
) -> None:
    url = prepared.owner_url if part == "owner" else prepared.service_urls[part]
    conn = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO '/tmp/mirror-stage-probe'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT pg_read_file('/etc/passwd')")
    finally:
        await conn.close()


async def test_no_role_is_a_superuser_nor_may_make_roles_or_databases(
    prepared: PreparedDatabase, database: str
) -> None:
    admin = await asyncpg.connect(database)
    try:
        for part, role in prepared.roles.items():
            row = await admin.fetchrow(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                "rolcanlogin FROM pg_roles WHERE rolname = $1",
                role,
            )
            assert row is not None, role
            assert dict(row) == {
                "rolsuper": False,
                "rolcreaterole": False,
                "rolcreatedb": False,
                "rolreplication": False,
                "rolbypassrls": False,
                "rolcanlogin": True,
            }, part
            for powerful in (
                "pg_execute_server_program",
                "pg_read_server_files",
                "pg_write_server_files",
            ):
                assert not await admin.fetchval(
                    "SELECT pg_has_role($1, $2, 'MEMBER')", role, powerful
                ), (part, powerful)
            memberships = await admin.fetchval(
                "SELECT count(*) FROM pg_auth_members WHERE member = $1::regrole", role
            )
            assert memberships == 0, part
    finally:
        await admin.close()


@pytest.mark.parametrize("service", SERVICE_ROLES)
async def test_a_service_role_changes_no_schema(prepared: PreparedDatabase, service: str) -> None:
    conn = await connect_as(prepared, service)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE planted (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"DROP TABLE {OWN[service]} CASCADE")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"ALTER TABLE {OWN[service]} ADD COLUMN planted int")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE FUNCTION planted() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    finally:
        await conn.close()


async def test_each_service_starts_with_its_own_role_its_migrations_already_applied(
    prepared: PreparedDatabase,
) -> None:
    """What each service runs at start-up is a no-op for it: nothing to apply, no CREATE."""
    runs = {
        "ingest": (migrate_auth, migrate_history),
        "alerts": (migrate_auth, migrate_alerts),
        "commands": (migrate_auth, migrate_commands),
    }
    for service, steps in runs.items():
        pool = await asyncpg.create_pool(prepared.service_urls[service], min_size=1, max_size=2)
        try:
            for step in steps:
                assert await step(pool) == [], (service, step)
            if service == "commands":  # pg_trgm is trusted: the owner made it and its index
                assert await commands_migrations.has_trigram_index(pool)
        finally:
            await pool.close()


async def test_a_migration_a_service_role_may_not_apply_is_refused_with_the_way_out(
    prepared: PreparedDatabase,
) -> None:
    pool = await asyncpg.create_pool(prepared.service_urls["commands"], min_size=1, max_size=1)
    try:
        later = Migration(version=99, name="a later release", sql="CREATE TABLE later (id int)")
        with pytest.raises(MigrationError, match="mirror-stage db migrate"):
            await migrate(pool, "commands", [*commands_migrations.MIGRATIONS, later])
    finally:
        await pool.close()


async def test_the_ingest_role_makes_and_drops_day_partitions_through_the_owner_functions_only(
    prepared: PreparedDatabase,
) -> None:
    pool = await asyncpg.create_pool(prepared.service_urls["ingest"], min_size=1, max_size=2)
    now = datetime.now(UTC)
    old_day = (now - timedelta(days=40)).date()
    try:
        await partitions.create_days(pool, [old_day])
        days = await partitions.maintain(pool, now, retention_days=30)
        assert old_day not in days
        assert (now + timedelta(days=partitions.DAYS_AHEAD)).date() in days
        async with pool.acquire() as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "CREATE TABLE metric_samples_p20990101 PARTITION OF metric_samples "
                    "FOR VALUES FROM ('2099-01-01') TO ('2099-01-02')"
                )
            today = partitions.partition_name("metric_samples", now.date())
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"DROP TABLE {today}")
            with pytest.raises(asyncpg.RaiseError, match="ahead"):  # only the days ahead
                await conn.execute("SELECT history_create_day('2099-01-01')")
            with pytest.raises(asyncpg.RaiseError, match="today"):  # nothing current
                await conn.execute("SELECT history_drop_day($1)", now.date())
    finally:
        await pool.close()
    alerts = await connect_as(prepared, "alerts")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alerts.execute("SELECT history_drop_day($1)", old_day)
    finally:
        await alerts.close()


async def test_setup_again_keeps_the_passwords_in_private_files(
    prepared: PreparedDatabase, database: str, tmp_path: Path, unique: str
) -> None:
    admin = await asyncpg.connect(database)
    try:  # a table of someone else's in the schema is neither the owner's to revoke nor granted
        await admin.execute("CREATE TABLE not_ours (note text)")
    finally:
        await admin.close()
    again = await prepare_database(database, tmp_path / "roles", prefix=f"t{unique}_")
    assert again == prepared
    ingest = await connect_as(prepared, "ingest")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ingest.fetch("SELECT * FROM not_ours")
    finally:
        await ingest.close()
    files = sorted((tmp_path / "roles").iterdir())
    assert [f.name for f in files] == sorted(f"{role}.pgpass" for role in prepared.roles.values())
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert ":" + file.name.removesuffix(".pgpass") + ":" in file.read_text()
    for url in prepared.service_urls.values():
        assert urlsplit(url).password is None  # the password is in its file, not the URL
        conn = await asyncpg.connect(url)
        await conn.close()


async def test_a_database_migrated_before_the_roles_is_taken_over_by_the_owner(
    database: str, tmp_path: Path, unique: str
) -> None:
    """A stack's database from before the roles (everything made by the superuser, a day
    partition among it) works under them: the owner adopts its tables."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    old_day = (datetime.now(UTC) - timedelta(days=40)).date()
    try:
        for step in (migrate_auth, migrate_history, migrate_alerts, migrate_commands):
            await step(pool)
        await partitions.create_days(pool, [old_day])
    finally:
        await pool.close()
    result = await prepare_database(database, tmp_path / "roles", prefix=f"t{unique}_")
    try:
        ingest = await asyncpg.create_pool(result.service_urls["ingest"], min_size=1, max_size=2)
        try:
            days = await partitions.maintain(ingest, datetime.now(UTC), retention_days=30)
            assert old_day not in days
            await ingest.fetch("SELECT * FROM metric_samples LIMIT 1")
        finally:
            await ingest.close()
        conn = await connect_as(result, "commands")
        try:
            await conn.fetch("SELECT seed FROM signing_key")
            await conn.fetch("SELECT id FROM command_events LIMIT 1")
        finally:
            await conn.close()
    finally:
        await drop_roles(database, result)


async def run(command: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_db_migrate_command_sets_up_an_external_database(
    database: str, tmp_path: Path
) -> None:
    """`mirror-stage db migrate` with MIRROR_STAGE_DB_URL an administrator's: the roles, their
    files, every migration; it prints each service's address, which holds no password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_STAGE_")}
    command = [sys.executable, "-m", "mirror_stage", "db", "migrate", "--data-dir", str(tmp_path)]
    code, _, stderr = await run(command, env)
    assert code == 2
    assert "MIRROR_STAGE_DB_URL" in stderr
    env["MIRROR_STAGE_DB_URL"] = database
    code, stdout, stderr = await run(command, env)
    assert code == 0, stdout + stderr
    urls = dict(re.findall(r"^  (\w+)\s+(postgresql://\S+)$", stdout, re.MULTILINE))
    assert set(urls) == {"owner", *SERVICE_ROLES}
    prepared = PreparedDatabase(
        roles=role_names(),
        owner_url=urls["owner"],
        service_urls={part: urls[part] for part in SERVICE_ROLES},
    )
    try:
        for part, url in urls.items():
            assert urlsplit(url).username == f"mirror_{part}"
            assert urlsplit(url).password is None
            assert (tmp_path / "database" / f"mirror_{part}.pgpass").is_file()
        conn = await asyncpg.connect(urls["alerts"])
        try:
            assert await conn.fetchval("SELECT count(*) FROM alert_rules") > 0  # seeded
        finally:
            await conn.close()
    finally:
        await drop_roles(database, prepared)


async def test_db_migrate_makes_the_first_admin_once_and_waits_for_its_database(
    database: str, tmp_path: Path
) -> None:
    """compose's migrate step: `--first-admin` prints the one-time password of the admin it
    makes, and on the next run only that there are users; `--wait` waits for a server that
    does not answer yet, and names the wait when it never does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_STAGE_")}
    env["MIRROR_STAGE_DB_URL"] = database
    command = [sys.executable, "-m", "mirror_stage", "db", "migrate", "--data-dir", str(tmp_path)]
    code, stdout, stderr = await run([*command, "--wait", "30", "--first-admin"], env)
    assert code == 0, stdout + stderr
    prepared = PreparedDatabase(roles=role_names(), owner_url="", service_urls={})  # to drop
    try:
        made = re.search(r"^first admin: user 'admin', one-time password \S{16,}$", stdout, re.M)
        assert made is not None, stdout
        code, stdout, stderr = await run([*command, "--first-admin"], env)
        assert code == 0, stdout + stderr
        assert "first admin" not in stdout
        assert "logins: 1 user(s)" in stdout
    finally:
        await drop_roles(database, prepared)
    env["MIRROR_STAGE_DB_URL"] = "postgresql://mirror@127.0.0.1:1/mirror"  # nothing listens
    code, _, stderr = await run([*command, "--wait", "1"], env)
    assert code == 1
    assert "the database took no login within 1 s" in stderr
