"""HTTP app of the alerts service: the routes of its declared operations
(mirror_schema.alert_operations) over AlertsApi, health and metrics; no rules."""

from __future__ import annotations

from fastapi import FastAPI

from mirror_alerts import metrics
from mirror_alerts.endpoints import implementations
from mirror_alerts.operations import AlertsApi
from mirror_alerts.previewing import Previewer
from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies
from mirror_runtime.http_door import mount_operations

__all__ = ["create_app"]


def create_app(deps: Dependencies, api: AlertsApi, previewer: Previewer) -> FastAPI:
    """The alerts API of docs/api.md (docs/openapi.json), silences and the rule preview
    included, with health and metrics."""
    app = service_app(deps)
    mount_operations(
        app, [previewer.implementation(), *implementations(api)], requests=metrics.REQUESTS
    )
    return app
