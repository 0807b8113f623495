"""Streams kept from before the stack had accounts: nats-server stored them under the default
account's folder ($G); `adopt_default_account_store` hands them to STAGE, and the server,
restarted with every agent in an account of its own, has them there with every message."""

from pathlib import Path

import nats
import pytest

from loopback_ports import free_port
from mirror_schema import streams, subjects
from mirror_stage.nats_accounts import STAGE_ACCOUNT, accounts_block
from mirror_stage.nats_identities import admin_permissions, new_identity
from mirror_stage.natsd import OldStoreError, adopt_default_account_store, loopback_nats_spec
from mirror_stage.supervisor import Supervised

SAMPLES = 3


async def test_a_single_servers_streams_move_to_stage_with_their_messages(
    tmp_path: Path,
) -> None:
    base = tmp_path / "nats"
    store = base / "jetstream"
    old = Supervised(loopback_nats_spec(base, port=free_port()))  # no accounts: `$G`
    await old.start()
    try:
        nc = await nats.connect(old.spec.address)
        await streams.ensure_streams(nc.jetstream())
        for _ in range(SAMPLES):
            await nc.jetstream().publish(subjects.metrics_raw("web-1"), b"{}")
        await nc.close()
    finally:
        await old.stop()
    assert (store / "jetstream" / "$G").is_dir()

    assert adopt_default_account_store(store, STAGE_ACCOUNT, clustered=False)
    assert not adopt_default_account_store(store, STAGE_ACCOUNT, clustered=False)  # once
    admin = new_identity("admin")
    spec = loopback_nats_spec(
        base,
        port=free_port(),
        authorization=accounts_block([(admin, admin_permissions())]),
        probe_seed=admin.seed,
    )
    server = Supervised(spec)
    await server.start()
    try:
        nc = await nats.connect(spec.address, nkeys_seed_str=admin.seed)
        info = await nc.jetstream().stream_info(streams.METRICS.name)
        assert info.state.messages == SAMPLES
        await nc.close()
    finally:
        await server.stop()


def test_a_clustered_store_is_not_moved_and_the_error_says_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "jetstream" / "$G" / "streams"
    old.mkdir(parents=True)
    with pytest.raises(OldStoreError, match="clustered stack made before"):
        adopt_default_account_store(tmp_path, STAGE_ACCOUNT, clustered=True)
    (tmp_path / "jetstream" / "$SYS" / "_js_").mkdir(parents=True)  # once a cluster's
    with pytest.raises(OldStoreError, match="without --cluster"):
        adopt_default_account_store(tmp_path, STAGE_ACCOUNT, clustered=False)
    assert old.is_dir()


def test_a_new_or_already_moved_store_is_left_alone(tmp_path: Path) -> None:
    assert not adopt_default_account_store(tmp_path, STAGE_ACCOUNT, clustered=False)
    (tmp_path / "jetstream" / STAGE_ACCOUNT).mkdir(parents=True)
    (tmp_path / "jetstream" / "$G").mkdir()
    assert not adopt_default_account_store(tmp_path, STAGE_ACCOUNT, clustered=True)
