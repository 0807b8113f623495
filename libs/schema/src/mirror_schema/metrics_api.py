"""The ingest's history endpoint on NATS: ``metrics.api.history`` (request/reply, queue group
``ingest``), the same query as ``GET /api/metrics/history``.

The reply is ``{"history": {"host", "step", "points"}}`` or ``{"error", "code"}``; the points'
fields are those of the HTTP API (docs/api.md#ingest-api-port-8101).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["HistoryRequest", "decode_history_request"]

_Param = Annotated[str, msgspec.Meta(max_length=64)]


class HistoryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One host's history: ``since``/``until`` ISO 8601, ``step`` raw, 1m or 1h (or None to
    choose by range), as the HTTP query takes them."""

    host: _Param | None = None
    since: _Param | None = None
    until: _Param | None = None
    step: _Param | None = None


decode_history_request = msgspec.json.Decoder(HistoryRequest).decode
