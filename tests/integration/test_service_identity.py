"""A service on a bus with authorization on: it connects as the identity in
MIRROR_STAGE_NATS_CREDENTIALS_FILE; without one it stops at once, saying why."""

from pathlib import Path

import pytest
from nats_auth_helpers import Secured
from twin_helpers import twin_spec

from loopback_ports import free_port
from mirror_stage.supervisor import PartFailedError, Supervised


async def test_a_service_with_credentials_serves_and_one_without_is_refused(
    secured: Secured, tmp_path: Path
) -> None:
    seed = tmp_path / "twin.nk"
    seed.write_text(secured.admin.seed + "\n")
    env = {"MIRROR_STAGE_NATS_CREDENTIALS_FILE": str(seed)}
    part = Supervised(twin_spec(secured.url, tmp_path / "twin.log", free_port(), env))
    await part.start()  # healthy: /api/health answers 200, NATS connected
    await part.stop()

    anonymous = Supervised(twin_spec(secured.url, tmp_path / "anonymous.log", free_port()))
    with pytest.raises(PartFailedError):
        await anonymous.start()
    assert "refused this service's credentials" in (tmp_path / "anonymous.log").read_text()
