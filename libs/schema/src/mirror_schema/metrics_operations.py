"""The ingest's API operations over the metric history, each declared once: both its doors,
the twin's forwarding and docs/openapi.json are built from these (mirror_schema.api)."""

from __future__ import annotations

from typing import Final, cast

from mirror_schema import subjects
from mirror_schema.api import Http, NoRequest, Operation
from mirror_schema.history import HistoryHosts, HistoryRequest, HistoryResponse

__all__ = ["HISTORY", "HOSTS", "OPERATIONS"]

SERVICE: Final = "ingest"

HISTORY: Final = Operation(
    service=SERVICE,
    name="history",
    summary="One host's history between since and until, raw or in 1 m or 1 h buckets",
    request=HistoryRequest,
    # A tagged union (by step), which msgspec decodes and describes like a type.
    result=cast("type[HistoryResponse]", HistoryResponse),
    subject=subjects.METRICS_API_HISTORY,
    http=Http(method="GET", path="/api/metrics/history", query=True),
    errors=("invalid", "malformed", "not_found"),
)
HOSTS: Final = Operation(
    service=SERVICE,
    name="hosts",
    summary="The hosts the history has seen, with their first and last samples",
    request=NoRequest,
    result=HistoryHosts,
    http=Http(method="GET", path="/api/hosts"),
    errors=(),
)

OPERATIONS: Final = (HISTORY, HOSTS)
