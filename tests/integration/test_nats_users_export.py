"""`mirror-stage nats-users`: the users block for a nats-server run elsewhere works as is."""

from pathlib import Path

import nats

from loopback_ports import free_port
from mirror_schema import subjects
from mirror_schema.identities import inbox_prefix
from mirror_schema.nats_credentials import credential_options
from mirror_stage.enrollment import export_users
from mirror_stage.natsd import loopback_nats_spec
from mirror_stage.stack_layout import stack_layout
from mirror_stage.supervisor import Supervised
from waiting import wait_until


async def test_an_exported_users_block_runs_a_server_with_every_identity(tmp_path: Path) -> None:
    data, block = tmp_path / "stage", tmp_path / "users.conf"
    assert export_users(stack_layout({}, data_dir=data), block) == 0
    assert block.stat().st_mode & 0o777 == 0o600
    admin_seed = (data / "identities" / "admin.nk").read_text().strip()
    spec = loopback_nats_spec(
        tmp_path / "nats",
        port=free_port(),
        authorization=block.read_text(),
        probe_seed=admin_seed,
    )
    server = Supervised(spec)
    await server.start()
    try:
        twin = await nats.connect(
            spec.address,
            inbox_prefix=inbox_prefix("twin"),
            allow_reconnect=False,
            **credential_options(str(data / "identities" / "twin.nk")),
        )
        errors: list[str] = []

        async def record(exc: Exception) -> None:
            errors.append(str(exc).lower())

        commands = await nats.connect(
            spec.address,
            inbox_prefix=inbox_prefix("commands"),
            allow_reconnect=False,
            error_cb=record,
            **credential_options(str(data / "identities" / "commands.nk")),
        )
        await commands.publish(subjects.metrics_raw("web-1"), b"{}")  # not the commands' work
        await commands.flush()
        await wait_until(
            lambda: any("permissions violation" in e for e in errors),
            timeout=5,
            what=f"the server to refuse the commands service's sample: {errors}",
        )
        await twin.close()
        await commands.close()
    finally:
        await server.stop()
