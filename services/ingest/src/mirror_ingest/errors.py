"""The ingest's errors that its doors turn into HTTP statuses and NATS error codes: a refused
batch, a batch larger than a host's burst, a batch JetStream did not acknowledge, a history
query that cannot be read (series.QueryError becomes one) and a host the history never saw."""

import math

from mirror_runtime.doors import ApiError
from mirror_schema.api import ErrorCode

__all__ = [
    "BatchExceedsBurstError",
    "BatchRejectedError",
    "InvalidHistoryQueryError",
    "PublishFailedError",
    "UnknownHostError",
]


class BatchRejectedError(Exception):
    """A batch the ingest refuses: the HTTP status, a detail for the client, a metric label."""

    def __init__(self, status: int, detail: str, reason: str) -> None:
        self.status = status
        self.detail = detail
        self.reason = reason
        super().__init__(f"{status} {reason}: {detail}")


class BatchExceedsBurstError(Exception):
    """One batch holds more samples of a host than its bucket can ever hold: no wait helps."""

    def __init__(self, host_id: str, count: int, burst: float) -> None:
        self.host_id = host_id
        self.count = count
        self.burst = burst
        super().__init__(
            f"the batch has {count} samples of host {host_id!r}, more than the per-host burst "
            f"of {burst:g}; split it into batches of at most {math.floor(burst)} samples per host"
        )


class PublishFailedError(Exception):
    """JetStream did not acknowledge every sample of a batch; ``reason`` says what happened."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidHistoryQueryError(ApiError):
    """A query that cannot be read (a bad time, step or range)."""

    code: ErrorCode = "invalid"


class UnknownHostError(ApiError):
    """A host the history has never seen."""

    code: ErrorCode = "not_found"
