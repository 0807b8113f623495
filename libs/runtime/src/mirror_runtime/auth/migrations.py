"""The auth tables, applied by every service holding the database and by the launcher."""

from typing import Final

import asyncpg

from mirror_runtime.migrations import Grants, Migration, migrate, privileges

COMPONENT: Final = "auth"

MIGRATIONS: Final = (
    Migration(
        version=1,
        name="users, sessions and API tokens",
        sql="""
CREATE TABLE auth_users (
    name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash text NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE auth_sessions (
    digest text PRIMARY KEY,
    user_name text NOT NULL REFERENCES auth_users (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_name);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);
CREATE TABLE auth_tokens (
    name text PRIMARY KEY,
    digest text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
""",
    ),
    Migration(
        version=2,
        name="login attempts counted before the hash, for known and unknown names; one-time "
        "passwords",
        sql="""
CREATE TABLE auth_attempts (
    name text PRIMARY KEY,
    failures integer NOT NULL,
    locked_until timestamptz,
    last_at timestamptz NOT NULL
);
CREATE INDEX auth_attempts_last ON auth_attempts (last_at);
INSERT INTO auth_attempts (name, failures, locked_until, last_at)
    SELECT name, failed_logins, locked_until, now() FROM auth_users
    WHERE failed_logins > 0 OR locked_until IS NOT NULL;
ALTER TABLE auth_users
    DROP COLUMN failed_logins,
    DROP COLUMN locked_until,
    ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
""",
    ),
    Migration(
        version=3,
        name="each user's last login, for the admins' list",
        sql="ALTER TABLE auth_users ADD COLUMN last_login_at timestamptz;",
    ),
)

# What every service holding the database runs (it answers auth.api.* for the twin): logins
# read a user and count attempts (known names or not), sessions are opened, touched, closed
# and swept, a password is changed or re-hashed; and what an admin does through the twin
# (auth.api.users|tokens.*), as `mirror-stage user|token` does as the owner: users and
# tokens made and removed.
GRANTS: Final = Grants(
    tables={
        "auth_users": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "auth_attempts": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "auth_sessions": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
        "auth_tokens": privileges("SELECT", "INSERT", "UPDATE", "DELETE"),
    }
)


async def migrate_auth(pool: asyncpg.Pool) -> list[int]:
    """Apply the auth migrations this database lacks."""
    return await migrate(pool, COMPONENT, MIGRATIONS)
