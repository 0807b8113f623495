"""Leadership: which replica evaluates, held as a lease in a NATS key-value bucket.

Evaluation needs every sample of a host in one place (a ``for`` timer spans samples), so one
replica evaluates at a time and the others stand by, answering the API. The lease is the key
``evaluator`` of the bucket ``alerts_leader`` (mirror_runtime.leadership: renewed every
``RENEW_SECONDS``, each time only with the revision written last; gone ``LEASE_SECONDS`` after
the last renewal; a leader that could not renew stops by itself before the server hands the
lease on).

The lease lives on the bus, not in PostgreSQL: evaluation, events and notifications go on
through a database outage (the alerts are stored once it is back, see recorder.py), and a
replica killed with SIGKILL hands over within ``LEASE_SECONDS``; a replica that stops cleanly
deletes the key and hands over at once.
"""

from __future__ import annotations

from typing import Final

from nats.js.client import JetStreamContext

from mirror_runtime import leadership
from mirror_runtime.leadership import LEASE_SECONDS, RENEW_SECONDS, Lease, LostLeadership
from mirror_schema import streams

__all__ = ["Leadership", "Lease", "LostLeadership"]

BUCKET: Final = streams.BUCKET_ALERTS_LEADER
KEY: Final = "evaluator"


class Leadership(leadership.Leadership):
    """Runs ``lead(lease)`` while this replica holds the evaluator's lease."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        retry_seconds: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        super().__init__(
            js,
            bucket=BUCKET,
            key=KEY,
            retry_seconds=retry_seconds,
            lease_seconds=lease_seconds,
            renew_seconds=renew_seconds,
        )
