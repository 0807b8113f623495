"""The stack's PostgreSQL: the external one at MIRROR_STAGE_DB_URL, else the embedded one,
started as a part of the stack (its clusters kept outside a data dir tied to it)."""

from collections.abc import Callable

import asyncpg
import structlog

from mirror_stage.ports import free_port
from mirror_stage.postgres import (
    SHARED_ROOT,
    EmbeddedPostgres,
    claim_postgres_root,
    postgres_account,
)
from mirror_stage.shared_clusters import sweep_orphans
from mirror_stage.stack_errors import StackError
from mirror_stage.stack_layout import DATABASE_NAME, StackLayout
from mirror_stage.supervisor import PartSpec, Supervised

__all__ = ["start_database"]

log = structlog.get_logger()


def announce(name: str, address: str) -> None:
    """Print one part's address once it answers its health check."""
    print(f"  {name:<10} {address}", flush=True)  # noqa: T201 - the launcher's console output


async def start_database(layout: StackLayout, supervise: Callable[[PartSpec], Supervised]) -> str:
    """The administrator's DSN of the stack's database, its server started when embedded."""
    if layout.external_db_url is not None:
        try:
            connection = await asyncpg.connect(layout.external_db_url, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StackError(
                f"MIRROR_STAGE_DB_URL does not answer: {exc}; fix it, or unset it to "
                "use the embedded PostgreSQL"
            ) from None
        await connection.close()
        announce("postgres", "MIRROR_STAGE_DB_URL (external)")
        return layout.external_db_url
    account = postgres_account()
    swept = sweep_orphans(SHARED_ROOT) if account is not None else []
    if swept:
        print(  # noqa: T201
            f"  (removed {len(swept)} PostgreSQL cluster(s) from {SHARED_ROOT} whose data "
            "dirs are gone)",
            flush=True,
        )
    root = claim_postgres_root(layout.data_dir, account)
    if not root.is_relative_to(layout.data_dir):
        log.info("postgres.files_elsewhere", path=str(root), data_dir=str(layout.data_dir))
        print(  # noqa: T201
            f"  (PostgreSQL's files are in {root}: the account that runs it cannot enter "
            f"the data dir. `mirror-stage purge {layout.data_dir}` removes both; a data dir "
            "deleted otherwise has its cluster removed at the next `up`)",
            flush=True,
        )
    pg = EmbeddedPostgres(
        root, host="127.0.0.1", port=free_port(), log_path=layout.logs_dir / "postgres.log"
    )
    pg.initialise()
    await supervise(pg.spec()).start()
    return await pg.ensure_database(DATABASE_NAME)
