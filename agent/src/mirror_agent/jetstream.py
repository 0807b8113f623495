"""Which JetStream API the agent calls: the server's own, or the stack's, imported into the
agent's own account.

An enrolled agent is alone in a NATS account of its own (its connections capped there), and
that account has no JetStream: the stack's account exports it the calls on its own consumer
and withdrawals, under AGENT_JETSTREAM_PREFIX. A server without accounts (no authorization,
as in development) answers at JetStream's own `$JS.API`. One account-info call tells which:
in an account without JetStream the server answers it "not enabled for account".
"""

import nats.aio.client
import nats.js.errors
from nats.js.client import JetStreamContext

from mirror_schema.identities import AGENT_JETSTREAM_PREFIX

__all__ = ["JETSTREAM_NOT_ENABLED_FOR_ACCOUNT", "agent_jetstream"]

# nats-server's error code for a JetStream call made in an account without JetStream.
JETSTREAM_NOT_ENABLED_FOR_ACCOUNT = 10039


async def agent_jetstream(
    nc: nats.aio.client.Client, *, api_timeout: float = 5.0
) -> JetStreamContext:
    """The JetStream context the agent's API calls (consumer, fetch, direct get) go through.

    Raises what nats-py raises when the server does not answer at all (no JetStream,
    disconnected): the caller retries.
    """
    own = nc.jetstream(timeout=api_timeout)
    try:
        await own.account_info()
    except nats.js.errors.ServiceUnavailableError as exc:
        if exc.err_code != JETSTREAM_NOT_ENABLED_FOR_ACCOUNT:
            raise
        return nc.jetstream(prefix=AGENT_JETSTREAM_PREFIX, timeout=api_timeout)
    return own
