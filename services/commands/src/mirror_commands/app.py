"""HTTP app of the commands service: the routes of its declared operations
(mirror_schema.command_operations) over CommandsApi, health and metrics; no rules."""

from fastapi import FastAPI

from mirror_commands import metrics
from mirror_commands.endpoints import HTTP_ACTOR, implementations
from mirror_commands.operations import CommandsApi
from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies
from mirror_runtime.http_door import mount_operations


def create_app(deps: Dependencies, api: CommandsApi) -> FastAPI:
    """The commands API of docs/api.md (docs/openapi.json), health and metrics."""
    app = service_app(deps)
    mount_operations(app, implementations(api), requests=metrics.REQUESTS, default_actor=HTTP_ACTOR)
    return app
