"""dead_letter(): park a message that can never be processed, with the reason, and count it."""

import nats.errors
import nats.js.client
import prometheus_client
import structlog
from nats.aio.msg import Msg

from mirror_schema import subjects

log = structlog.get_logger()

DEAD_LETTERS = prometheus_client.Counter(
    "mirror_dead_letters_total",
    "Messages moved to deadletter.<subject> because they can never be processed",
    ["consumer"],
)

# Messages refused and never applied, whatever became of them (dead-lettered, or only counted
# by consumers that may not publish dead letters, such as the twin).
REJECTED = prometheus_client.Counter(
    "mirror_rejected_total",
    "Messages refused and never applied, by consumer and reason",
    ["consumer", "reason"],
)

REASON_HEADER = "Mirror-Dead-Letter-Reason"
CONSUMER_HEADER = "Mirror-Dead-Letter-Consumer"
MAX_REASON_CHARS = 1000


def dead_letter_subject(subject: str, subject_prefix: str = "") -> str:
    """`deadletter.<subject>`; with a test subject prefix, the prefix stays in front of both."""
    if not subject_prefix:
        return subjects.dead_letter(subject)
    head = subject_prefix.rstrip(".") + "."
    return head + subjects.dead_letter(subject.removeprefix(head))


async def dead_letter(
    js: nats.js.client.JetStreamContext,
    msg: Msg,
    reason: str,
    *,
    consumer: str,
    subject_prefix: str = "",
) -> bool:
    """Publish `msg` to its dead-letter subject with `reason`; False if that failed too.

    The caller terminates the original message either way once this returns True; when it
    returns False the caller naks, so the message is not lost while the bus is in trouble.
    """
    headers = {
        REASON_HEADER: reason[:MAX_REASON_CHARS],
        CONSUMER_HEADER: consumer,
    }
    original_id = (msg.headers or {}).get("Nats-Msg-Id")
    if original_id:
        headers["Nats-Msg-Id"] = f"dead:{consumer}:{original_id}"
    try:
        await js.publish(
            dead_letter_subject(msg.subject, subject_prefix), msg.data, headers=headers
        )
    except (nats.errors.Error, TimeoutError) as exc:
        log.error("dead_letter.failed", subject=msg.subject, reason=reason, error=str(exc))
        return False
    DEAD_LETTERS.labels(consumer=consumer).inc()
    log.warning("message.dead_lettered", subject=msg.subject, consumer=consumer, reason=reason)
    return True
