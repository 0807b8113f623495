"""ask_for_reply(): a request whose answer comes to a reply subject the caller chooses.

nats-py's request() takes its reply subject from the connection's inbox prefix. An agent may
answer only under a prefix that names its own host (mirror_schema.subjects.cancel_reply_prefix),
so the commands service asks it with a reply subject there, unique to the request.
"""

import contextlib

import nats.aio.client
import nats.errors
import nats.js.api
from nats.aio.msg import Msg
from nats.nuid import NUID

__all__ = ["ask_for_reply"]

_NO_RESPONDERS = "503"
_nuid = NUID()


async def ask_for_reply(
    nc: nats.aio.client.Client,
    subject: str,
    payload: bytes,
    *,
    reply_prefix: str,
    timeout: float,  # noqa: ASYNC109 - what the request may wait, as nats-py's request()
) -> Msg:
    """Send `payload` on `subject` with a reply subject under `reply_prefix`; the first answer.

    Raises nats.errors.NoRespondersError when no one listens on `subject`, and
    nats.errors.TimeoutError when no answer comes within `timeout` seconds.
    """
    reply = f"{reply_prefix}.{_nuid.next().decode()}"
    subscription = await nc.subscribe(reply, max_msgs=1)
    try:
        await nc.publish(subject, payload, reply=reply)
        msg = await subscription.next_msg(timeout=timeout)
    finally:
        if not nc.is_closed:
            # After its one message the subscription is gone already.
            with contextlib.suppress(nats.errors.BadSubscriptionError):
                await subscription.unsubscribe()
    if msg.headers and msg.headers.get(nats.js.api.Header.STATUS) == _NO_RESPONDERS:
        raise nats.errors.NoRespondersError
    return msg
