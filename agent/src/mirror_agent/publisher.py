"""Publisher: samples to metrics.raw.<host> with a JetStream ack and a Nats-Msg-Id."""

import logging

import nats.errors
import nats.js.client

from mirror_schema import codec, subjects
from mirror_schema.metrics import MetricSample

log = logging.getLogger(__name__)


class Publisher:
    """Publishes samples and counts the ones the bus did not acknowledge."""

    def __init__(self, js: nats.js.client.JetStreamContext, host_id: str) -> None:
        self.js = js
        self.subject = subjects.metrics_raw(host_id)
        self.published = 0
        self.unacknowledged = 0

    async def publish(self, sample: MetricSample) -> bool:
        """Publish one sample; True once JetStream has stored it (a retry is deduplicated)."""
        assert sample.host_id is not None
        assert sample.boot_id is not None
        assert sample.seq is not None
        msg_id = codec.sample_msg_id(sample.host_id, sample.boot_id, sample.seq)
        try:
            await self.js.publish(
                self.subject, codec.encode(sample), timeout=2.0, headers={"Nats-Msg-Id": msg_id}
            )
        except (nats.errors.Error, TimeoutError) as exc:
            self.unacknowledged += 1
            log.warning(
                "sample.not_acknowledged msg_id=%s error=%s unacknowledged_total=%d",
                msg_id,
                str(exc) or type(exc).__name__,
                self.unacknowledged,
            )
            return False
        self.published += 1
        return True
