"""The ingest's errors that its doors turn into HTTP statuses: a refused batch and a batch
larger than a host's burst. (The history API's are in history_api.py, a publish that failed in
gateway.py; a history query's bad parameter is series.QueryError, which history_api turns into
a 422.)"""

import math

__all__ = ["BatchExceedsBurstError", "BatchRejectedError"]


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
