"""admit_sample(): a sample from the bus, taken only as the host its subject names.

NATS permissions confine each agent to ``metrics.raw.<its host>``: the subject is what the
server vouches for, the payload is what the sender says. So the host of a sample is the
subject's; a payload naming another host (``host_id``) is refused, never applied, and so is
a sample dated further ahead of the server's clock than the HTTP gateway accepts (a future
timestamp would freeze a host's status). The hostname stays a label: it cannot redirect
anything, since commands resolve hosts through enrolled ids (mirror_commands.directory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

import msgspec

from mirror_schema import subjects
from mirror_schema.errors import SchemaError
from mirror_schema.samples import MetricSample, decode_sample

__all__ = [
    "MAX_FUTURE_SECONDS",
    "RefusalReason",
    "SampleRefusedError",
    "admit_sample",
    "check_origin",
]

# The ingest's HTTP gateway accepts the same (MIRROR_STAGE_INGEST_MAX_FUTURE_SECONDS).
MAX_FUTURE_SECONDS: Final = 300.0

RefusalReason = Literal["invalid_subject", "invalid_sample", "host_mismatch", "future_timestamp"]


class SampleRefusedError(SchemaError):
    """A message on ``metrics.raw.<host>`` that must not be applied; ``reason`` is a label."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        self.reason: RefusalReason = reason
        self.detail = detail
        super().__init__(detail)


def check_origin(
    subject: str,
    subject_host: str,
    claimed_host: str | None,
    timestamp: datetime,
    received_at: datetime,
    *,
    max_future_seconds: float = MAX_FUTURE_SECONDS,
) -> None:
    """Raise SampleRefusedError when a sample claims another host than its subject's, or is
    dated more than `max_future_seconds` after the server received it."""
    if claimed_host is not None and claimed_host != subject_host:
        raise SampleRefusedError(
            "host_mismatch",
            f"host_id: the sample names host {claimed_host!r} but was published on "
            f"{subject!r} (host {subject_host!r}); a host may publish only its own samples",
        )
    ahead = (timestamp - received_at).total_seconds()
    if ahead > max_future_seconds:
        raise SampleRefusedError(
            "future_timestamp",
            f"timestamp: {timestamp.isoformat()} is {ahead:.0f} s ahead of when the server "
            f"received it ({received_at.isoformat()}); at most {max_future_seconds:.0f} s "
            "ahead is accepted: check the host's clock (NTP)",
        )


def admit_sample(
    subject: str,
    data: bytes,
    *,
    received_at: datetime,
    subject_prefix: str = "",
    max_future_seconds: float = MAX_FUTURE_SECONDS,
) -> MetricSample:
    """Decode a message of ``metrics.raw.<host>``; its ``host_id`` is the subject's host.

    `received_at` is when the server stored it (the message's JetStream timestamp).
    Raises SampleRefusedError naming the reason and the field.
    """
    try:
        host_id = subjects.host_id_from_subject(subject, prefix=subject_prefix)
    except SchemaError as exc:
        raise SampleRefusedError("invalid_subject", str(exc)) from None
    try:
        sample = decode_sample(data)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise SampleRefusedError("invalid_sample", f"not a valid MetricSample: {exc}") from None
    check_origin(
        subject,
        host_id,
        sample.host_id,
        sample.timestamp,
        received_at,
        max_future_seconds=max_future_seconds,
    )
    if sample.host_id == host_id:
        return sample
    return msgspec.structs.replace(sample, host_id=host_id)
