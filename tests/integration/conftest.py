"""Integration tests: the prefixed streams a test made on the shared server go with it."""

from collections.abc import AsyncIterator

import nats
import nats.errors
import nats.js.errors
import pytest
import pytest_asyncio

# Fixtures registered by import: a host and real agents for it (`host_id`, `agent_factory`),
# a nats-server with authorization on (`secured`), the alerts service as deployed
# (`alerts`), the alerts store's migrated `pool` and its `conn`, and the commands service as
# deployed (`stack`). A module's own fixture of the same name wins.
from agent_helpers import agent_factory, host_id  # noqa: F401
from alerts_helpers import alerts  # noqa: F401
from alerts_store_helpers import conn, pool  # noqa: F401
from auth_http_helpers import certificates, guarded  # noqa: F401
from commands_helpers import stack  # noqa: F401
from nats_auth_helpers import secured  # noqa: F401

from servers import NatsServer


@pytest_asyncio.fixture(autouse=True)
async def delete_test_streams(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[None]:
    """After a test, delete the `T<unique>_*` streams it created with ensure_streams(prefix=).

    Every stream reserves its max_bytes of the server's storage, so copies left behind by
    earlier tests would end in "insufficient storage resources".
    """
    yield
    if "nats_server" not in request.fixturenames:
        return
    server: NatsServer = request.getfixturevalue("nats_server")
    prefix = f"T{unique}_"
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(prefix):
                await js.delete_stream(name.config.name)
    except (nats.errors.Error, nats.js.errors.Error):
        pass
    finally:
        await nc.close()
